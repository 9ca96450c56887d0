package dev.blockdraft.train;

import dev.blockdraft.data.Benchmark;
import dev.blockdraft.data.BenchmarkPrompt;
import dev.blockdraft.data.Benchmarks;
import dev.blockdraft.data.Corpus;
import dev.blockdraft.data.CorpusRecord;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.data.Decontamination;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The conversations a target answers to make drafter training data: prompts from every corpus —
 * math (GSM8K train), dialogue (AlpacaEval instructions) and code (a code-writing request made
 * from each {@code python_algorithms} file's docstring or first comment) — some of them followed
 * by a second user turn asked after the target's own first answer, as MT-Bench does.
 *
 * <p>Decontamination: a prompt is dropped when it equals a benchmark turn after whitespace and
 * case normalisation ({@link Decontamination}), or shares a run of {@value #NGRAM} words with any
 * benchmark turn (the n-gram overlap test language-model papers use), so that code prompts made
 * from docstrings cannot restate a HumanEval or MBPP task.
 *
 * <p>Follow-up turns are generic requests written for this project (per domain, never taken from
 * a benchmark): they give the drafter the long, multi-turn contexts MT-Bench's second turn has.
 */
public final class PromptMix {
    /** Words in a run shared with a benchmark turn that marks a prompt as contaminated. */
    public static final int NGRAM = 13;

    /** Where a conversation's first prompt came from. */
    public enum Domain { MATH, DIALOGUE, CODE }

    /**
     * One conversation to regenerate.
     *
     * @param followUp the second user turn, asked after the target's first answer; null for one turn
     */
    public record Conversation(Domain domain, String prompt, String followUp) {}

    /** The mix that was built: conversations in order, and what was left out. */
    public record Built(List<Conversation> conversations, Map<String, Integer> counts) {}

    private static final Map<Domain, List<String>> FOLLOW_UPS = Map.of(
            Domain.MATH, List.of("Check your answer by solving the problem a different way.",
                    "Explain each step again, more briefly.", "What would change if every number doubled?",
                    "Write the solution as a short list of steps."),
            Domain.DIALOGUE, List.of("Can you expand on that with a concrete example?",
                    "Summarize your answer in three sentences.", "Rewrite your answer for a ten-year-old.",
                    "What are the main counterarguments?", "Turn your answer into a bulleted list."),
            Domain.CODE, List.of("Add comments explaining how the code works.", "Now write a few tests for it.",
                    "What is the time complexity, and can it be improved?", "Rewrite it without using any imports."));

    private static final Pattern TRIPLE_QUOTED = Pattern.compile("(\"\"\"|''')(.*?)\\1", Pattern.DOTALL);
    private static final Pattern DEF = Pattern.compile("^\\s*(?:def|class)\\s+([A-Za-z_][A-Za-z0-9_]*)", Pattern.MULTILINE);
    private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}_]+");

    private PromptMix() {}

    /**
     * All usable conversations of the data folder's three corpora, decontaminated, shuffled by
     * {@code seed}; a fraction {@code followUpShare} of them (chosen by the seed) get a follow-up turn.
     */
    public static Built build(DataFolder folder, double followUpShare, long seed) {
        if (!(followUpShare >= 0 && followUpShare <= 1)) {
            throw new IllegalArgumentException("follow-up share " + followUpShare + " must be within [0, 1]");
        }
        List<BenchmarkPrompt> benchmarks = new ArrayList<>();
        for (Benchmark b : Benchmark.values()) {
            benchmarks.addAll(Benchmarks.load(folder, b, -1));
        }
        Decontamination exact = Decontamination.against(benchmarks);
        Set<String> benchmarkGrams = new HashSet<>();
        for (BenchmarkPrompt p : benchmarks) {
            for (String turn : p.turns()) {
                benchmarkGrams.addAll(ngrams(turn));
            }
        }
        Map<String, Integer> counts = new LinkedHashMap<>();
        List<Conversation> all = new ArrayList<>();
        Map<Domain, List<String>> byDomain = new LinkedHashMap<>();
        byDomain.put(Domain.MATH, instructions(folder, "gsm8k_train.jsonl"));
        byDomain.put(Domain.DIALOGUE, instructions(folder, "alpaca_eval_outputs.jsonl"));
        byDomain.put(Domain.CODE, codePrompts(folder));
        int dropped = 0;
        for (Map.Entry<Domain, List<String>> e : byDomain.entrySet()) {
            int kept = 0;
            for (String prompt : e.getValue()) {
                if (exact.isContaminated(new CorpusRecord.Instruction("", prompt, ""))
                        || sharesAny(ngrams(prompt), benchmarkGrams)) {
                    dropped++;
                    continue;
                }
                all.add(new Conversation(e.getKey(), prompt, null));
                kept++;
            }
            counts.put(e.getKey().name().toLowerCase(Locale.ROOT), kept);
        }
        counts.put("decontaminated", dropped);
        Random random = new Random(seed);
        Collections.shuffle(all, random);
        List<Conversation> out = new ArrayList<>(all.size());
        int followUps = 0;
        for (Conversation c : all) {
            if (random.nextDouble() < followUpShare) {
                List<String> options = FOLLOW_UPS.get(c.domain());
                out.add(new Conversation(c.domain(), c.prompt(), options.get(random.nextInt(options.size()))));
                followUps++;
            } else {
                out.add(c);
            }
        }
        counts.put("follow_ups", followUps);
        return new Built(List.copyOf(out), counts);
    }

    /** Whether any of the (few) grams is in the (large) set: looks each up, never walks the large one. */
    private static boolean sharesAny(Set<String> few, Set<String> many) {
        for (String gram : few) {
            if (many.contains(gram)) {
                return true;
            }
        }
        return false;
    }

    /** Distinct instruction prompts of a corpus file, in file order. */
    static List<String> instructions(DataFolder folder, String file) {
        Set<String> seen = new LinkedHashSet<>();
        for (CorpusRecord r : Corpus.read(folder.corpus(file), -1)) {
            if (r instanceof CorpusRecord.Instruction i && !i.prompt().isBlank()) {
                seen.add(i.prompt());
            }
        }
        return new ArrayList<>(seen);
    }

    /** A code-writing request per source file that has a description (docstring or leading comment). */
    static List<String> codePrompts(DataFolder folder) {
        Set<String> seen = new LinkedHashSet<>();
        for (CorpusRecord r : Corpus.read(folder.corpus("python_algorithms.jsonl"), -1)) {
            if (r instanceof CorpusRecord.Document d) {
                String prompt = codePrompt(d.text());
                if (prompt != null) {
                    seen.add(prompt);
                }
            }
        }
        return new ArrayList<>(seen);
    }

    /**
     * "Write a Python function {@code name} …" from a source file: the first docstring's first
     * paragraph (doctest lines dropped), else the leading comment block; null when neither says
     * anything (fewer than four words).
     */
    static String codePrompt(String source) {
        String description = null;
        Matcher m = TRIPLE_QUOTED.matcher(source);
        while (m.find() && description == null) {
            description = firstParagraph(m.group(2));
        }
        if (description == null) {
            StringBuilder comment = new StringBuilder();
            for (String line : source.split("\n")) {
                String t = line.strip();
                if (t.startsWith("#!") || (t.isEmpty() && comment.length() == 0)) {
                    continue;
                }
                if (!t.startsWith("#")) {
                    break;
                }
                comment.append(t.substring(1).strip()).append(' ');
            }
            description = firstParagraph(comment.toString());
        }
        if (description == null) {
            return null;
        }
        Matcher def = DEF.matcher(source);
        String subject = def.find() ? "Write a Python implementation, starting with `" + def.group(1) + "`, of the following."
                : "Write a Python program for the following.";
        return subject + "\n\n" + description;
    }

    private static String firstParagraph(String text) {
        StringBuilder out = new StringBuilder();
        for (String line : text.split("\n")) {
            String t = line.strip();
            if (t.startsWith(">>>") || t.startsWith("...")) {
                break; // doctests: examples, not the task
            }
            if (t.isEmpty()) {
                if (out.length() > 0) {
                    break;
                }
                continue;
            }
            if (t.toLowerCase(Locale.ROOT).startsWith("http")) { // a link, not the task
                continue;
            }
            out.append(t).append(' ');
            if (out.length() > 400) {
                break;
            }
        }
        String s = out.toString().strip();
        return WORD.matcher(s).results().count() >= 4 ? s : null;
    }

    /** The distinct runs of {@value #NGRAM} lower-cased words of a text. */
    static Set<String> ngrams(String text) {
        List<String> words = new ArrayList<>();
        WORD.matcher(text.toLowerCase(Locale.ROOT)).results().forEach(r -> words.add(r.group()));
        Set<String> grams = new HashSet<>();
        for (int i = 0; i + NGRAM <= words.size(); i++) {
            grams.add(String.join(" ", words.subList(i, i + NGRAM)));
        }
        return grams;
    }
}
