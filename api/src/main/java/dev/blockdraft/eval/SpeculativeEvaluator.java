package dev.blockdraft.eval;

import dev.blockdraft.data.Benchmark;
import dev.blockdraft.data.BenchmarkPrompt;
import dev.blockdraft.data.Benchmarks;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.lm.Generator;
import dev.blockdraft.lm.Sampler;
import dev.blockdraft.lm.Target;
import dev.blockdraft.report.ProgressBar;
import dev.blockdraft.spec.Decoding;
import dev.blockdraft.spec.SpecStats;
import dev.blockdraft.spec.SpeculativeDecoder;
import dev.blockdraft.tokenize.ChatTemplate;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Measures a drafter's acceptance on the benchmarks: every prompt is rendered through the target's
 * chat template and decoded greedily with {@link SpeculativeDecoder}, stopping at the end-of-turn
 * token. Multi-turn prompts (MT-Bench) ask each later turn after the model's own earlier answers:
 * turn i's history holds turns 1..i−1 with their decoded answers as text.
 *
 * <p>With {@link BenchmarkRun#measureBaseline()}, every turn is also decoded by the target alone
 * ({@link Generator}, greedy) on the same prompt ids and token budget, to time the speedup and to
 * count outputs that are not token-identical (there should be none).
 *
 * <p>A turn whose prompt leaves no room for one block and one new token in the target's context
 * throws {@link PromptTooLongException} naming the benchmark, prompt id, turn and lengths, unless
 * the run says {@link BenchmarkRun.TooLong#SKIP}. A turn with less room than
 * {@code maxNewTokens} is decoded with the budget that fits (both decoders alike).
 *
 * <pre>{@code
 * AcceptanceReport report = new SpeculativeEvaluator().withObjective("paper")
 *         .evaluate(target, drafter, DataFolder.resolve(null), BenchmarkRun.defaults());
 * }</pre>
 *
 * <p>Immutable; the {@code with…} methods return a new evaluator.
 */
public final class SpeculativeEvaluator {

    /**
     * One decoded turn, handed to a {@link #withListener listener} (for inspecting answers, and for tests).
     *
     * @param turn        1-based
     * @param promptIds   the rendered prompt, earlier turns included
     * @param tokens      the speculative decoder's new tokens
     * @param plainTokens the target's own greedy tokens, null without a baseline
     * @param answer      the answer as text (special tokens dropped), the history of later turns
     */
    public record Decoded(Benchmark benchmark, String promptId, int turn, int[] promptIds, int[] tokens,
            SpecStats stats, int[] plainTokens, String answer) {}

    private final String objective;
    private final String drafterName;
    private final OfflineTau offlineTau;
    private final Consumer<Decoded> listener;
    private final PrintStream progress;
    private final boolean interactive;
    private final boolean captureProvenance;
    private final boolean mismatchCheck;
    private final Decoding decoding;

    public SpeculativeEvaluator() {
        this("", null, null, null, System.out, System.console() != null, true, true, Decoding.greedy());
    }

    private SpeculativeEvaluator(String objective, String drafterName, OfflineTau offlineTau, Consumer<Decoded> listener,
            PrintStream progress, boolean interactive, boolean captureProvenance, boolean mismatchCheck, Decoding decoding) {
        this.objective = objective;
        this.drafterName = drafterName;
        this.offlineTau = offlineTau;
        this.listener = listener;
        this.progress = progress;
        this.interactive = interactive;
        this.captureProvenance = captureProvenance;
        this.mismatchCheck = mismatchCheck;
        this.decoding = Objects.requireNonNull(decoding, "decoding");
    }

    /**
     * Decodes with other sampling or drafting (default: greedy, one block). At a temperature above 0
     * the baseline samples too (same warp, its own stream), and outputs are not compared token by token.
     */
    public SpeculativeEvaluator withDecoding(Decoding settings) {
        return new SpeculativeEvaluator(objective, drafterName, offlineTau, listener, progress, interactive,
                captureProvenance, mismatchCheck, settings);
    }

    /**
     * The train/serve mismatch detector (on by default): after each turn, the drafter's training
     * forward is run teacher-forced over the decoded text at exactly the anchors decoding visited,
     * and its accepted lengths are compared with verification's, step by step. They agree unless
     * training and decoding compute different drafts — a bug of the kind serving engines' users
     * report as high offline accuracy with near-zero online acceptance. The report then shows
     * visited τ = forced τ, and the remaining gap to the uniform-anchor offline τ is where
     * verification lands (online decoding anchors at the target's bonus tokens, not at uniformly
     * chosen positions): a selection effect, not a bug. Greedy decoding with one block only: a
     * sampled or multi-draft step accepts by other rules than the argmax the forced pass checks.
     */
    public SpeculativeEvaluator withMismatchCheck(boolean on) {
        return new SpeculativeEvaluator(objective, drafterName, offlineTau, listener, progress, interactive,
                captureProvenance, on, decoding);
    }

    /** Labels the report with the drafter's training objective ("uniform", "paper", ...). */
    public SpeculativeEvaluator withObjective(String name) {
        return new SpeculativeEvaluator(Objects.requireNonNull(name, "objective"), drafterName, offlineTau, listener,
                progress, interactive, captureProvenance, mismatchCheck, decoding);
    }

    /** Labels the drafter (default: its block size and depth). */
    public SpeculativeEvaluator withDrafterName(String name) {
        return new SpeculativeEvaluator(objective, name, offlineTau, listener, progress, interactive, captureProvenance, mismatchCheck, decoding);
    }

    /** Computes the offline expected τ per benchmark over the target's greedy outputs; null for none. */
    public SpeculativeEvaluator withOfflineTau(OfflineTau estimator) {
        return new SpeculativeEvaluator(objective, drafterName, estimator, listener, progress, interactive,
                captureProvenance, mismatchCheck, decoding);
    }

    /** Called after every decoded turn, on the evaluating thread. */
    public SpeculativeEvaluator withListener(Consumer<Decoded> onDecoded) {
        return new SpeculativeEvaluator(objective, drafterName, offlineTau, onDecoded, progress, interactive,
                captureProvenance, mismatchCheck, decoding);
    }

    /** Where the progress bar and warnings go; null for silence. */
    public SpeculativeEvaluator withProgress(PrintStream out, boolean redrawInPlace) {
        return new SpeculativeEvaluator(objective, drafterName, offlineTau, listener, out, redrawInPlace,
                captureProvenance, mismatchCheck, decoding);
    }

    /** No progress bar nor warnings. */
    public SpeculativeEvaluator quiet() {
        return withProgress(null, false);
    }

    /** Whether to record a {@link Provenance} (git commit, data hashes, settings) in the report; on by default. */
    public SpeculativeEvaluator withProvenance(boolean capture) {
        return new SpeculativeEvaluator(objective, drafterName, offlineTau, listener, progress, interactive, capture,
                mismatchCheck, decoding);
    }

    /**
     * Loads each benchmark's first {@code settings.maxPrompts()} prompts from {@code data} and
     * measures acceptance on them.
     */
    public AcceptanceReport evaluate(Target target, Drafter drafter, DataFolder data, BenchmarkRun settings) {
        Map<Benchmark, List<BenchmarkPrompt>> prompts = new LinkedHashMap<>();
        Map<String, Path> files = new LinkedHashMap<>();
        for (Benchmark b : settings.benchmarks()) {
            prompts.put(b, Benchmarks.load(data, b, settings.maxPrompts()));
            files.put(b.fileName(), data.benchmark(b));
        }
        return run(target, drafter, prompts, settings, files);
    }

    /**
     * Measures acceptance on prompts given in memory (a custom set, or a subset); only the
     * benchmarks of {@code settings} are decoded, each up to {@code settings.maxPrompts()} prompts.
     */
    public AcceptanceReport evaluate(Target target, Drafter drafter, Map<Benchmark, List<BenchmarkPrompt>> prompts,
            BenchmarkRun settings) {
        Map<Benchmark, List<BenchmarkPrompt>> chosen = new LinkedHashMap<>();
        for (Benchmark b : settings.benchmarks()) {
            List<BenchmarkPrompt> list = prompts.get(b);
            if (list == null || list.isEmpty()) {
                throw new IllegalArgumentException("no prompts given for benchmark " + b.displayName()
                        + "; given: " + prompts.keySet());
            }
            chosen.put(b, list.subList(0, Math.min(list.size(), settings.maxPrompts())));
        }
        return run(target, drafter, chosen, settings, Map.of());
    }

    private AcceptanceReport run(Target target, Drafter drafter, Map<Benchmark, List<BenchmarkPrompt>> prompts,
            BenchmarkRun settings, Map<String, Path> dataFiles) {
        if (drafter.target() != target.model()) {
            throw new IllegalArgumentException("the drafter is attached to another target model instance than "
                    + target + "; build or load the drafter with this target's model");
        }
        ChatTemplate template = target.template();
        int[] stops = target.tokenizer().stopIds();
        int vocab = target.tokenizer().vocabSize();
        int b = drafter.config().blockSize();
        int context = target.config().maxPositionEmbeddings();
        SpeculativeDecoder decoder = new SpeculativeDecoder(drafter).with(decoding);
        boolean checkForced = mismatchCheck && decoding.sampling().isGreedy() && decoding.drafts() <= 1
                && decoding.treeNodes() <= 0;
        int total = prompts.values().stream().mapToInt(List::size).sum();

        if (settings.measureBaseline()) {
            warmUp(target, decoder, template, prompts, context, b);
        }
        List<AcceptanceReport.BenchmarkResult> results = new ArrayList<>();
        try (ProgressBar bar = progress == null ? null
                : ProgressBar.start("τ " + (objective.isEmpty() ? "eval" : objective), total, progress, interactive)) {
            for (Map.Entry<Benchmark, List<BenchmarkPrompt>> entry : prompts.entrySet()) {
                Benchmark benchmark = entry.getKey();
                SpecStats stats = SpecStats.empty(b);
                int turns = 0, skipped = 0, mismatches = 0;
                long tokens = 0, plainTokens = 0;
                double plainSeconds = 0;
                List<OfflineTau.Sequence> sequences = new ArrayList<>();
                List<AcceptanceReport.PromptResult> perPrompt = new ArrayList<>();
                for (BenchmarkPrompt prompt : entry.getValue()) {
                    long promptSteps = 0, promptEmitted = 0, visited = 0, forced = 0;
                    int forcedMismatches = 0;
                    List<ChatTemplate.Turn> history = new ArrayList<>();
                    List<String> users = prompt.turns();
                    for (int t = 0; t < users.size(); t++) {
                        String user = users.get(t);
                        int[] ids = template.promptIds(history, user);
                        int room = context - ids.length - b;
                        if (room < 1) {
                            PromptTooLongException tooLong = new PromptTooLongException(benchmark, prompt.id(), t + 1,
                                    users.size(), ids.length, context, b);
                            if (settings.onTooLong() == BenchmarkRun.TooLong.FAIL) {
                                throw tooLong;
                            }
                            skipped += users.size() - t;
                            warn("skipped: " + tooLong.getMessage());
                            break;
                        }
                        int budget = Math.min(settings.maxNewTokens(), room);
                        SpeculativeDecoder.Output out = decoder.generate(ids, budget, stops);
                        stats = stats.plus(out.stats());
                        promptSteps += out.stats().steps();
                        promptEmitted += out.stats().emitted();
                        if (checkForced) {
                            int[] decoded = Arrays.copyOf(ids, ids.length + out.tokens().length);
                            System.arraycopy(out.tokens(), 0, decoded, ids.length, out.tokens().length);
                            int[] anchors = out.steps().stream().mapToInt(SpeculativeDecoder.Step::anchorPosition).toArray();
                            int[] teacherForced = drafter.acceptedAt(target.model(), decoded, anchors,
                                    target.tokenizer().padId());
                            for (int s = 0; s < anchors.length; s++) {
                                int online = out.steps().get(s).accepted();
                                // the last step may run past the kept tokens: compare what the text holds
                                int known = Math.min(online, decoded.length - 1 - anchors[s]);
                                visited += known + 1;
                                forced += teacherForced[s] + 1;
                                forcedMismatches += teacherForced[s] == known ? 0 : 1;
                            }
                        }
                        tokens += out.tokens().length;
                        turns++;
                        int[] greedy = out.tokens();
                        int[] plain = null;
                        if (settings.measureBaseline()) {
                            Generator.Generation g = Generator.generate(target.model(), ids, budget,
                                    decoding.sampling().sampler(new SplittableRandom(decoding.seed())), stops);
                            plain = g.tokens();
                            plainTokens += plain.length;
                            plainSeconds += g.seconds();
                            if (decoding.sampling().isGreedy() && !Arrays.equals(plain, out.tokens())) {
                                mismatches++;
                                warn(benchmark.displayName() + " prompt " + prompt.id() + " turn " + (t + 1)
                                        + ": speculative output differs from greedy decoding at token "
                                        + Arrays.mismatch(plain, out.tokens()));
                            }
                            greedy = plain;
                        }
                        if (offlineTau != null) {
                            int[] sequence = Arrays.copyOf(ids, ids.length + greedy.length);
                            System.arraycopy(greedy, 0, sequence, ids.length, greedy.length);
                            sequences.add(new OfflineTau.Sequence(sequence, ids.length));
                        }
                        String answer = answerText(target, out.tokens(), vocab);
                        if (listener != null) {
                            listener.accept(new Decoded(benchmark, prompt.id(), t + 1, ids, out.tokens(), out.stats(),
                                    plain, answer));
                        }
                        history.add(new ChatTemplate.Turn(user, answer));
                    }
                    perPrompt.add(checkForced
                            ? new AcceptanceReport.PromptResult(prompt.id(), promptSteps, promptEmitted, visited, forced,
                                    forcedMismatches)
                            : new AcceptanceReport.PromptResult(prompt.id(), promptSteps, promptEmitted));
                    if (bar != null) {
                        bar.step(1, String.format("%s τ %.2f", benchmark.cliName(), stats.tau()));
                    }
                }
                double offline = Double.NaN;
                if (offlineTau != null && !sequences.isEmpty()) {
                    offline = offlineTau.expectedTau(List.copyOf(sequences));
                }
                results.add(new AcceptanceReport.BenchmarkResult(benchmark, entry.getValue().size(), turns, skipped, tokens,
                        stats, plainTokens, settings.measureBaseline() ? plainSeconds : Double.NaN, mismatches, offline,
                        perPrompt));
            }
        }
        Provenance provenance = null;
        if (captureProvenance) {
            Map<String, String> s = new LinkedHashMap<>(settings.asSettings());
            s.put("objective", objective);
            s.putAll(decoding.asSettings());
            s.put("block_size", Integer.toString(b));
            s.put("denoising_steps", Integer.toString(drafter.config().denoisingSteps()));
            Map<String, String> parents = new LinkedHashMap<>();
            if (target.folder() != null) {
                parents.put("target", target.folder().toAbsolutePath().toString());
            }
            provenance = Provenance.capture("acceptance", target.model().backend(), 0, s, dataFiles, parents);
        }
        return new AcceptanceReport(objective, drafterName != null ? drafterName : defaultDrafterName(drafter),
                targetName(target), b, results, settings, provenance);
    }

    /** One short decode each way, untimed, so the first timed turn does not pay for warming the engine. */
    private static void warmUp(Target target, SpeculativeDecoder decoder, ChatTemplate template,
            Map<Benchmark, List<BenchmarkPrompt>> prompts, int context, int b) {
        for (List<BenchmarkPrompt> list : prompts.values()) {
            for (BenchmarkPrompt p : list) {
                int[] ids = template.promptIds(List.of(), p.turns().get(0));
                int room = context - ids.length - b;
                if (room >= 1) {
                    int budget = Math.min(room, 2 * b);
                    decoder.generate(ids, budget, -1);
                    Generator.generate(target.model(), ids, budget, Sampler.greedy(), -1);
                    return;
                }
            }
        }
    }

    /** The answer as text for the next turn's history; ids outside the tokenizer's vocabulary are dropped. */
    private static String answerText(Target target, int[] tokens, int vocab) {
        int[] known = Arrays.stream(tokens).filter(id -> id >= 0 && id < vocab).toArray();
        return target.tokenizer().decode(known, true);
    }

    private void warn(String message) {
        if (progress != null) {
            progress.println("warning: " + message);
        }
    }

    static String defaultDrafterName(Drafter drafter) {
        var c = drafter.config();
        return "B" + c.blockSize() + " " + c.numLayers() + "L" + (c.denoisingSteps() > 1 ? " " + c.denoisingSteps() + "-step" : "");
    }

    static String targetName(Target target) {
        return target.folder() == null || target.folder().getFileName() == null ? "target"
                : target.folder().getFileName().toString();
    }

    @Override
    public String toString() {
        return "SpeculativeEvaluator(" + (objective.isEmpty() ? "unlabelled" : objective)
                + (offlineTau != null ? ", offline τ" : "") + ")";
    }
}
