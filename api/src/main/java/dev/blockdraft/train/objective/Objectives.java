package dev.blockdraft.train.objective;

import dev.blockdraft.train.objective.PositionalWeighting.Schedule;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Named objectives for the CLI and ablations. Every call returns a fresh instance (the
 * reach-probability schedule is stateful).
 *
 * <p>Presets ({@link #parse} accepts {@code name} or {@code name:key=value,key=value}):
 *
 * <ul>
 *   <li>{@code uniform} — {@link Uniform}: plain CE, the baseline.
 *   <li>{@code dflash} [gamma=auto] — {@link PositionalWeighting} with exponential decay
 *       exp(−(k−1)/γ), DFlash's baseline as published: γ from the block size (4 at B = 8, 5 at
 *       10, 7 at 16, {@link PositionalWeighting.Schedule.DFlashDecay}) unless given.
 *   <li>{@code dpace} [a=0.5, norm=sequences] — {@link DPace} as published by its authors: floor
 *       a = 0.5, the weighted CE summed and divided by the batch's sequence count
 *       ({@code norm=slots}: speculators' valid-slot count; {@code norm=weights}: Σw).
 *   <li>{@code positional} [momentum=0.9, reach=hard] — {@link PositionalWeighting} with reach
 *       weights, the paper's positional weighting: w_k = the EMA of the fraction of blocks whose
 *       greedy verification reaches slot k ({@link PositionalWeighting.HardReach});
 *       {@code reach=soft} uses the product of soft marginals instead
 *       ({@link PositionalWeighting.ReachProbability}). μ = 0.9 averages over ~10 steps: smooth
 *       enough that one batch doesn't swing the weights, quick enough to track training.
 *   <li>{@code first-error} [gamma=2, alpha=0.5] — {@link Uniform} + {@link FirstErrorFocal}.
 *       γ = 2 is focal loss's usual value; α = 0.5 keeps the first-error term, which covers one
 *       slot per block, from overwhelming the CE it refines.
 *   <li>{@code chain} [alpha=0.5] — {@link Uniform} + {@link ChainLoss}. L_chain ∈ [−1, 0] while CE
 *       is a few nats, so α = 0.5 lets CE lead early (when E[τ] ≈ 0 and its gradient vanishes)
 *       and the chain term take over as acceptance grows.
 *   <li>{@code paper} [momentum=0.9, gamma=2, alpha-fe=0.5, alpha-chain=0.5, reach=hard] — reach
 *       positional weighting + first-error focal + chain: the full method, with the defaults of
 *       the single-intervention presets so ablations differ in one thing at a time.
 * </ul>
 *
 * <p>Most parameters are numbers; {@code reach} takes {@code hard|soft} and {@code norm} takes
 * {@code sequences|slots|weights}; {@code gamma=auto} restores dflash's block-size rule.
 */
public final class Objectives {
    private Objectives() {}

    /** DFlash's γ at its default block size of 16 ({@link #dflash()} picks γ by block size instead). */
    public static final double DFLASH_GAMMA = 7.0;
    public static final double DPACE_A = DPace.DEFAULT_A;
    public static final double REACH_MOMENTUM = 0.9;
    public static final double FOCAL_GAMMA = 2.0;
    public static final double FIRST_ERROR_ALPHA = 0.5;
    public static final double CHAIN_ALPHA = 0.5;

    private record Preset(Map<String, Double> defaults, Function<Map<String, Double>, Objective> build) {}

    private static final Map<String, Preset> PRESETS = new LinkedHashMap<>();

    /** Parameters that take a word: the words, stored as their index. "auto" for gamma is NaN. */
    private static final Map<String, List<String>> CHOICES = Map.of(
            "reach", List.of("hard", "soft"),
            "norm", List.of("sequences", "slots", "weights"));
    private static final double HARD = 0, SOFT = 1;

    static {
        PRESETS.put("uniform", new Preset(Map.of(), p -> uniform()));
        PRESETS.put("dflash", new Preset(ordered("gamma", Double.NaN),
                p -> Double.isNaN(p.get("gamma")) ? dflash() : dflash(p.get("gamma"))));
        PRESETS.put("dpace", new Preset(ordered("a", DPACE_A, "norm", 0.0),
                p -> new DPace(p.get("a"), DPace.Normalization.values()[p.get("norm").intValue()])));
        PRESETS.put("positional", new Preset(ordered("momentum", REACH_MOMENTUM, "reach", HARD),
                p -> new PositionalWeighting(reach(p.get("momentum"), p.get("reach")))));
        PRESETS.put("first-error", new Preset(ordered("gamma", FOCAL_GAMMA, "alpha", FIRST_ERROR_ALPHA),
                p -> firstError(p.get("gamma"), p.get("alpha"))));
        PRESETS.put("chain", new Preset(ordered("alpha", CHAIN_ALPHA), p -> chain(p.get("alpha"))));
        PRESETS.put("paper", new Preset(
                ordered("momentum", REACH_MOMENTUM, "gamma", FOCAL_GAMMA, "alpha-fe", FIRST_ERROR_ALPHA,
                        "alpha-chain", CHAIN_ALPHA, "reach", HARD),
                p -> Objective.sum(new PositionalWeighting(reach(p.get("momentum"), p.get("reach"))),
                        new FirstErrorFocal(p.get("gamma"), p.get("alpha-fe")), new ChainLoss(p.get("alpha-chain")))));
    }

    private static Schedule reach(double momentum, double kind) {
        return kind == SOFT ? Schedule.reachProbability(momentum) : Schedule.hardReach(momentum);
    }

    private static Map<String, Double> ordered(Object... kv) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], (Double) kv[i + 1]);
        }
        return m;
    }

    /** The preset names, in documentation order. */
    public static List<String> names() {
        return List.copyOf(PRESETS.keySet());
    }

    /**
     * A preset by name, optionally with overrides: {@code "paper"}, {@code "first-error:gamma=1"},
     * {@code "paper:alpha-fe=0.3,alpha-chain=1"}. Names and keys are case-insensitive.
     *
     * @throws IllegalArgumentException for an unknown name (listing the valid ones), an unknown key
     *     (listing the preset's keys), an unparsable number, or an out-of-range value (naming the
     *     field)
     */
    public static Objective parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("empty objective; valid: " + String.join(", ", names()));
        }
        String s = spec.trim().toLowerCase(Locale.ROOT);
        int colon = s.indexOf(':');
        String name = (colon < 0 ? s : s.substring(0, colon)).trim();
        Preset preset = PRESETS.get(name);
        if (preset == null) {
            throw new IllegalArgumentException("unknown objective '" + name + "'; valid: " + String.join(", ", names()));
        }
        Map<String, Double> params = new LinkedHashMap<>(preset.defaults());
        if (colon >= 0 && !s.substring(colon + 1).isBlank()) {
            for (String kv : s.substring(colon + 1).split(",")) {
                int eq = kv.indexOf('=');
                String key = (eq < 0 ? kv : kv.substring(0, eq)).trim();
                if (!preset.defaults().containsKey(key)) {
                    throw new IllegalArgumentException("objective '" + name + "' has no parameter '" + key + "'; "
                            + (preset.defaults().isEmpty() ? "it takes none" : "valid: " + String.join(", ", preset.defaults().keySet())));
                }
                if (eq < 0) {
                    throw new IllegalArgumentException("parameter '" + key + "' of '" + name + "' needs a value: " + key + "=…");
                }
                String value = kv.substring(eq + 1).trim();
                List<String> words = CHOICES.get(key);
                if (words != null) {
                    if (!words.contains(value)) {
                        throw new IllegalArgumentException(key + "=" + value + " (objective '" + name + "'); valid: "
                                + String.join(", ", words));
                    }
                    params.put(key, (double) words.indexOf(value));
                    continue;
                }
                if (key.equals("gamma") && name.equals("dflash") && value.equals("auto")) {
                    params.put(key, Double.NaN);
                    continue;
                }
                try {
                    params.put(key, Double.parseDouble(value));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(key + "=" + value + " is not a number (objective '" + name + "')", e);
                }
            }
        }
        return preset.build().apply(params);
    }

    /** {@link Uniform}. */
    public static Objective uniform() {
        return new Uniform();
    }

    /** DFlash's exponential positional weighting, γ from the block size (4/5/7 at B = 8/10/16). */
    public static Objective dflash() {
        return new PositionalWeighting(Schedule.dflash());
    }

    public static Objective dflash(double gamma) {
        return new PositionalWeighting(Schedule.exponential(gamma));
    }

    /** {@link DPace} as published: a = 0.5, normalised by the batch's sequence count. */
    public static Objective dpace() {
        return dpace(DPACE_A);
    }

    public static Objective dpace(double a) {
        return new DPace(a);
    }

    /** The paper's positional weighting: hard greedy reach, μ = 0.9. */
    public static Objective positional() {
        return positional(REACH_MOMENTUM);
    }

    public static Objective positional(double momentum) {
        return new PositionalWeighting(Schedule.hardReach(momentum));
    }

    /** Uniform + FirstErrorFocal(γ = 2, α = 0.5). */
    public static Objective firstError() {
        return firstError(FOCAL_GAMMA, FIRST_ERROR_ALPHA);
    }

    public static Objective firstError(double gamma, double alpha) {
        return Objective.sum(new Uniform(), new FirstErrorFocal(gamma, alpha));
    }

    /** Uniform + ChainLoss(α = 0.5). */
    public static Objective chain() {
        return chain(CHAIN_ALPHA);
    }

    public static Objective chain(double alpha) {
        return Objective.sum(new Uniform(), new ChainLoss(alpha));
    }

    /** The full method with the default hyperparameters. */
    public static Objective paper() {
        return paper(REACH_MOMENTUM, FIRST_ERROR_ALPHA, FOCAL_GAMMA, CHAIN_ALPHA);
    }

    /** PositionalWeighting(hardReach(0.9)) + FirstErrorFocal(gammaF, alphaFe) + ChainLoss(alphaCh). */
    public static Objective paper(double alphaFe, double gammaF, double alphaCh) {
        return paper(REACH_MOMENTUM, alphaFe, gammaF, alphaCh);
    }

    public static Objective paper(double momentum, double alphaFe, double gammaF, double alphaCh) {
        return Objective.sum(new PositionalWeighting(Schedule.hardReach(momentum)),
                new FirstErrorFocal(gammaF, alphaFe), new ChainLoss(alphaCh));
    }
}
