package dev.blockdraft.cli;

import com.google.gson.Gson;
import com.google.gson.JsonParseException;
import com.google.gson.reflect.TypeToken;
import dev.blockdraft.io.BadInputException;
import java.io.IOException;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * blockdraft's tokens/s side by side with a PyTorch reference's: {@code benchmarks/pytorch_reference.py}
 * for {@code bench train}, {@code benchmarks/decode_reference.py} for {@code bench decode}. Both write
 * one JSON line per variant and round; {@code bench} writes one {@code BENCH_JSON} line per round.
 *
 * <p>ratio = blockdraft / reference tokens/s (above 1: blockdraft is faster). With as many rounds of
 * blockdraft as of a variant (interleaved by {@code benchmarks/vs_reference.sh}), round k is divided
 * by round k, so a GPU that drifts between rounds weighs on both sides alike; otherwise every round
 * of ours by every round of theirs. Reported: the median ratio, its min and max, and the medians of
 * both sides.
 */
final class BenchReference {
    private BenchReference() {}

    private static final Gson GSON = new Gson();
    private static final Type MAP = new TypeToken<Map<String, Object>>() {}.getType();

    /** One JSON line of a file, parsed, with its 1-based line number. */
    record Line(Path file, int number, Map<String, Object> json) {
        String where() {
            return file + " line " + number;
        }
    }

    /** One round of one reference variant. */
    record Round(String variant, double tokensPerSecond, Line line) {}

    /** blockdraft / reference of one blockdraft metric against one reference variant. */
    record Ratio(int rounds, double ours, double reference, double median, double min, double max) {}

    /** One reference variant against each blockdraft metric (plain and speculative decoding, or the training step). */
    record Row(String variant, Map<String, Ratio> byMetric) {}

    /** The JSON lines of {@code file}: blank lines skipped, a {@code BENCH_JSON } prefix dropped. */
    static List<Line> readLines(Path file) {
        List<String> text;
        try {
            text = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw BadInputException.of(file, "cannot read: " + e.getMessage(), e);
        }
        List<Line> out = new ArrayList<>();
        for (int i = 0; i < text.size(); i++) {
            String s = text.get(i).strip();
            if (s.isEmpty()) {
                continue;
            }
            if (s.startsWith("BENCH_JSON ")) {
                s = s.substring("BENCH_JSON ".length());
            }
            Map<String, Object> json;
            try {
                json = s.startsWith("{") ? GSON.fromJson(s, MAP) : null;
            } catch (JsonParseException e) {
                json = null;
            }
            if (json == null) {
                throw new BadInputException(file + " line " + (i + 1) + ": expected one JSON object per line (a reference"
                        + " script's output or a BENCH_JSON line), found: " + abbreviate(s));
            }
            out.add(new Line(file, i + 1, json));
        }
        if (out.isEmpty()) {
            throw BadInputException.of(file, "no JSON lines: expected the output of benchmarks/pytorch_reference.py,"
                    + " benchmarks/decode_reference.py or bench --json");
        }
        return out;
    }

    /** The reference rounds of {@code file}, each with its variant and tokens/s. */
    static List<Round> readReference(Path file) {
        List<Round> rounds = new ArrayList<>();
        for (Line line : readLines(file)) {
            if (!(line.json().get("tokens_per_s") instanceof Number tps) || !(tps.doubleValue() > 0)) {
                throw new BadInputException(line.where() + ": tokens_per_s=" + line.json().get("tokens_per_s")
                        + " must be a positive number (is this a reference script's output?)");
            }
            rounds.add(new Round(variantOf(line), tps.doubleValue(), line));
        }
        return rounds;
    }

    /**
     * The line's {@code variant}, or for lines of pytorch_reference.py written before it had one, its
     * settings: e.g. {@code bf16-sdpa-eager}, {@code fp32-sdpa-eager-tf32}.
     */
    static String variantOf(Line line) {
        Map<String, Object> j = line.json();
        if (j.get("variant") instanceof String v && !v.isBlank()) {
            return v;
        }
        if (j.get("dtype") instanceof String dtype && j.get("attn") instanceof String attn) {
            boolean compiled = Boolean.TRUE.equals(j.get("compile"));
            return dtype + "-" + attn + (compiled ? "-compile-" + j.getOrDefault("mode", "default") : "-eager")
                    + (Boolean.TRUE.equals(j.get("tf32")) ? "-tf32" : "");
        }
        throw new BadInputException(line.where() + ": no \"variant\" (nor dtype and attn) to name the reference run by");
    }

    /**
     * Checks that a reference round measured the shapes blockdraft ran: every key of {@code keys}
     * present in both {@code shapes} maps must agree.
     */
    static void checkShapes(Round round, Map<String, Object> oursShapes, List<String> keys) {
        Map<String, Object> theirs = asMap(round.line().json().get("shapes"));
        Map<String, Object> ours = normalized(oursShapes);
        for (String key : keys) {
            if (theirs.containsKey(key) && ours.containsKey(key) && !Objects.equals(theirs.get(key), ours.get(key))) {
                throw new BadInputException(round.line().where() + ": the reference ran " + key + "=" + show(theirs.get(key))
                        + " but this benchmark ran " + key + "=" + show(ours.get(key))
                        + "; run both at the same shapes (same --" + key + ")");
            }
        }
    }

    /** The shapes a reference round must share with a {@code bench} result of {@code command}. */
    static List<String> shapeKeys(String command) {
        return switch (command) {
            case "bench train" -> List.of("Lt", "C", "H", "G", "I", "V", "Ld", "B", "feature_layers", "S", "L", "m");
            case "bench decode" -> List.of("Lt", "C", "H", "G", "I", "V", "prompt_len", "max_new_tokens");
            default -> throw new IllegalArgumentException("no reference comparison for " + command);
        };
    }

    /** blockdraft's tokens/s per metric in one bench result (a live run's map or a parsed BENCH_JSON line). */
    static Map<String, Double> metricsOf(Map<String, Object> result, String where) {
        Object command = result.get("command");
        Map<String, Double> m = new LinkedHashMap<>();
        if ("bench train".equals(command)) {
            m.put("drafter train", number(asMap(result.get("drafter_step")).get("tokens_per_s"), where, "drafter_step.tokens_per_s"));
        } else if ("bench decode".equals(command)) {
            m.put("plain", number(result.get("plain_tokens_per_s"), where, "plain_tokens_per_s"));
            m.put("speculative", number(result.get("spec_tokens_per_s"), where, "spec_tokens_per_s"));
        } else {
            throw new BadInputException(where + ": command=" + command + " must be \"bench train\" or \"bench decode\"");
        }
        return m;
    }

    /**
     * blockdraft's rounds (bench results of one command, in order) against the reference's rounds:
     * checks that both ran the same shapes, then {@link #compare}s.
     */
    static List<Row> against(List<Round> reference, List<Map<String, Object>> results, List<String> where) {
        String command = String.valueOf(results.get(0).get("command"));
        Map<String, List<Double>> ours = new LinkedHashMap<>();
        for (int i = 0; i < results.size(); i++) {
            Map<String, Object> r = results.get(i);
            if (!command.equals(r.get("command"))) {
                throw new BadInputException(where.get(i) + ": command=" + r.get("command") + " but the first result is "
                        + command + "; compare one kind of benchmark at a time");
            }
            metricsOf(r, where.get(i)).forEach((k, v) -> ours.computeIfAbsent(k, x -> new ArrayList<>()).add(v));
        }
        checkShapes(reference, command, asMap(results.get(0).get("shapes")));
        return compare(ours, reference);
    }

    /** {@link #checkShapes(Round, Map, List)} for every round, before a benchmark spends its time. */
    static void checkShapes(List<Round> reference, String command, Map<String, Object> shapes) {
        for (Round round : reference) {
            checkShapes(round, shapes, shapeKeys(command));
        }
    }

    /** Ratios of each blockdraft metric's rounds against each reference variant, variants in file order. */
    static List<Row> compare(Map<String, List<Double>> ours, List<Round> reference) {
        Map<String, List<Double>> byVariant = new LinkedHashMap<>();
        for (Round r : reference) {
            byVariant.computeIfAbsent(r.variant(), k -> new ArrayList<>()).add(r.tokensPerSecond());
        }
        List<Row> rows = new ArrayList<>();
        byVariant.forEach((variant, theirs) -> {
            Map<String, Ratio> byMetric = new LinkedHashMap<>();
            ours.forEach((metric, mine) -> byMetric.put(metric, ratio(mine, theirs)));
            rows.add(new Row(variant, byMetric));
        });
        return rows;
    }

    /** Round k over round k when the counts agree (interleaved rounds), else every pair. */
    static Ratio ratio(List<Double> ours, List<Double> theirs) {
        if (ours.isEmpty() || theirs.isEmpty()) {
            throw new IllegalArgumentException("no rounds to compare: " + ours.size() + " of blockdraft, " + theirs.size()
                    + " of the reference");
        }
        List<Double> ratios = new ArrayList<>();
        if (ours.size() == theirs.size()) {
            for (int k = 0; k < ours.size(); k++) {
                ratios.add(ours.get(k) / theirs.get(k));
            }
        } else {
            for (double mine : ours) {
                for (double other : theirs) {
                    ratios.add(mine / other);
                }
            }
        }
        return new Ratio(Math.max(ours.size(), theirs.size()), BenchCommand.median(ours), BenchCommand.median(theirs),
                BenchCommand.median(ratios), ratios.stream().mapToDouble(Double::doubleValue).min().orElseThrow(),
                ratios.stream().mapToDouble(Double::doubleValue).max().orElseThrow());
    }

    /** The table {@code bench} prints: one line per reference variant, a ratio column per blockdraft metric. */
    static String table(Path file, List<Row> rows) {
        StringBuilder s = new StringBuilder();
        s.append("vs reference ").append(file)
                .append(" (ratio = blockdraft / reference tokens/s, median over rounds, min-max):\n");
        List<String> metrics = rows.isEmpty() ? List.of() : List.copyOf(rows.get(0).byMetric().keySet());
        s.append(String.format("  %-34s %6s %12s", "reference variant", "rounds", "ref tok/s"));
        for (String m : metrics) {
            s.append(String.format(" %12s %20s", m + " tok/s", m + " ratio"));
        }
        s.append('\n');
        for (Row row : rows) {
            Ratio any = row.byMetric().values().iterator().next();
            s.append(String.format("  %-34s %6d %12.1f", row.variant(), any.rounds(), any.reference()));
            for (String m : metrics) {
                Ratio r = row.byMetric().get(m);
                s.append(String.format(" %12.1f %20s", r.ours(), String.format("%.2fx (%.2f-%.2f)", r.median(), r.min(), r.max())));
            }
            s.append('\n');
        }
        return s.toString();
    }

    /** The rows as JSON-ready maps, for the BENCH_JSON line. */
    static List<Map<String, Object>> asJson(List<Row> rows) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Row row : rows) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("variant", row.variant());
            row.byMetric().forEach((metric, r) -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("rounds", r.rounds());
                m.put("blockdraft_tokens_per_s_median", r.ours());
                m.put("reference_tokens_per_s_median", r.reference());
                m.put("ratio_median", r.median());
                m.put("ratio_min", r.min());
                m.put("ratio_max", r.max());
                o.put(metric, m);
            });
            out.add(o);
        }
        return out;
    }

    private static double number(Object o, String where, String key) {
        if (o instanceof Number n && n.doubleValue() > 0) {
            return n.doubleValue();
        }
        throw new BadInputException(where + ": " + key + "=" + o + " must be a positive number");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        return o instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }

    /** A live run's map (ints, int[]) in the form a parsed line has (doubles, lists). */
    private static Map<String, Object> normalized(Map<String, Object> live) {
        return GSON.fromJson(GSON.toJson(live), MAP);
    }

    private static String show(Object value) {
        if (value instanceof Double d && d == Math.rint(d)) {
            return Long.toString(d.longValue());
        }
        if (value instanceof List<?> list) {
            return list.stream().map(BenchReference::show).reduce((a, b) -> a + "," + b).orElse("");
        }
        return String.valueOf(value);
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
