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
 *   <li>{@code dflash} [gamma=7] — {@link PositionalWeighting} with exponential decay
 *       exp(−(k−1)/γ); DFlash's γ = 7 for blocks of 16.
 *   <li>{@code dpace} [c=0.85] — {@link DPace}. c = 0.85 ≈ e^{−1/7}, so that for a fresh drafter
 *       (q ≈ 0) the per-slot decay of the weights matches {@code dflash}'s; as the drafter
 *       improves the weights flatten and follow its reach instead.
 *   <li>{@code positional} [momentum=0.9] — {@link PositionalWeighting} with reach-probability
 *       weights, the paper's positional weighting. μ = 0.9 averages over ~10 steps: smooth
 *       enough that one batch doesn't swing the weights, quick enough to track training.
 *   <li>{@code first-error} [gamma=2, alpha=0.5] — {@link Uniform} + {@link FirstErrorFocal}.
 *       γ = 2 is focal loss's usual value; α = 0.5 keeps the first-error term, which covers one
 *       slot per block, from overwhelming the CE it refines.
 *   <li>{@code chain} [alpha=0.5] — {@link Uniform} + {@link ChainLoss}. L_chain ∈ [−1, 0] while CE
 *       is a few nats, so α = 0.5 lets CE lead early (when E[τ] ≈ 0 and its gradient vanishes)
 *       and the chain term take over as acceptance grows.
 *   <li>{@code paper} [momentum=0.9, gamma=2, alpha-fe=0.5, alpha-chain=0.5] — reach-probability
 *       positional weighting + first-error focal + chain: the full method, with the defaults of
 *       the single-intervention presets so ablations differ in one thing at a time.
 * </ul>
 */
public final class Objectives {
    private Objectives() {}

    public static final double DFLASH_GAMMA = 7.0;
    public static final double DPACE_C = 0.85;
    public static final double REACH_MOMENTUM = 0.9;
    public static final double FOCAL_GAMMA = 2.0;
    public static final double FIRST_ERROR_ALPHA = 0.5;
    public static final double CHAIN_ALPHA = 0.5;

    private record Preset(Map<String, Double> defaults, Function<Map<String, Double>, Objective> build) {}

    private static final Map<String, Preset> PRESETS = new LinkedHashMap<>();

    static {
        PRESETS.put("uniform", new Preset(Map.of(), p -> uniform()));
        PRESETS.put("dflash", new Preset(ordered("gamma", DFLASH_GAMMA), p -> dflash(p.get("gamma"))));
        PRESETS.put("dpace", new Preset(ordered("c", DPACE_C), p -> dpace(p.get("c"))));
        PRESETS.put("positional", new Preset(ordered("momentum", REACH_MOMENTUM), p -> positional(p.get("momentum"))));
        PRESETS.put("first-error", new Preset(ordered("gamma", FOCAL_GAMMA, "alpha", FIRST_ERROR_ALPHA),
                p -> firstError(p.get("gamma"), p.get("alpha"))));
        PRESETS.put("chain", new Preset(ordered("alpha", CHAIN_ALPHA), p -> chain(p.get("alpha"))));
        PRESETS.put("paper", new Preset(
                ordered("momentum", REACH_MOMENTUM, "gamma", FOCAL_GAMMA, "alpha-fe", FIRST_ERROR_ALPHA,
                        "alpha-chain", CHAIN_ALPHA),
                p -> paper(p.get("momentum"), p.get("alpha-fe"), p.get("gamma"), p.get("alpha-chain"))));
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

    /** DFlash's exponential positional weighting, γ = 7. */
    public static Objective dflash() {
        return dflash(DFLASH_GAMMA);
    }

    public static Objective dflash(double gamma) {
        return new PositionalWeighting(Schedule.exponential(gamma));
    }

    /** {@link DPace} with c = 0.85. */
    public static Objective dpace() {
        return dpace(DPACE_C);
    }

    public static Objective dpace(double c) {
        return new DPace(c);
    }

    /** The paper's positional weighting: reach-probability weights, μ = 0.9. */
    public static Objective positional() {
        return positional(REACH_MOMENTUM);
    }

    public static Objective positional(double momentum) {
        return new PositionalWeighting(Schedule.reachProbability(momentum));
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

    /** PositionalWeighting(reachProbability(0.9)) + FirstErrorFocal(gammaF, alphaFe) + ChainLoss(alphaCh). */
    public static Objective paper(double alphaFe, double gammaF, double alphaCh) {
        return paper(REACH_MOMENTUM, alphaFe, gammaF, alphaCh);
    }

    public static Objective paper(double momentum, double alphaFe, double gammaF, double alphaCh) {
        return Objective.sum(new PositionalWeighting(Schedule.reachProbability(momentum)),
                new FirstErrorFocal(gammaF, alphaFe), new ChainLoss(alphaCh));
    }
}
