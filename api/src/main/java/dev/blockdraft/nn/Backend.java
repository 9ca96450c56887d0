package dev.blockdraft.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * How one model's transformer ops run on its device, chosen once when the model is made or loaded:
 * {@link Mode#EAGER}, DJL's ops one by one ({@link Ops}), or {@link Mode#FUSED}, the TorchScript module's
 * kernels and whole layers ({@link FusedOps}) except the {@link #skipped} ones, which stay eager. A target
 * model, its drafter and their optimizer share one backend, so training and decoding run the same
 * implementation; every provenance record and {@code bench} result names it ({@link #toString}).
 *
 * <p>{@link #forDevice} reads the settings once: {@code -Dblockdraft.fusedOps=auto} (the default: fused on
 * GPUs, eager on CPUs, whose results the exactness and resume tests pin down), {@code on} (fused on CPUs
 * too), {@code off}; {@code -Dblockdraft.fusedOps.skip=rms_norm,swiglu} keeps the named ops eager;
 * {@code -Dblockdraft.fusedOpsModule=FILE} loads another copy of the module. Where the module does not load,
 * the backend is eager and says so.
 */
public final class Backend {
    public static final String MODE_PROPERTY = "blockdraft.fusedOps";
    public static final String SKIP_PROPERTY = "blockdraft.fusedOps.skip";

    public enum Mode { EAGER, FUSED }

    /** The fused methods, by the names the module, {@code -Dblockdraft.fusedOps.skip} and provenance use. */
    public enum Op {
        ATTENTION, RMS_NORM, SWIGLU, DECODER_LAYER, DRAFTER_LAYER, FROZEN_FORWARD, DRAFTER_BLOCK, ADAMW;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Op parse(String id, String setting) {
            for (Op op : values()) {
                if (op.id().equals(id)) {
                    return op;
                }
            }
            throw new IllegalArgumentException(setting + ": '" + id + "' is not a fused op; valid: "
                    + Arrays.stream(values()).map(Op::id).collect(Collectors.joining(", ")));
        }
    }

    private final Device device;
    private final Mode mode;
    private final Set<Op> skipped;
    private final FusedOps module; // null when eager

    private Backend(Device device, Mode mode, Set<Op> skipped, FusedOps module) {
        this.device = device;
        this.mode = mode;
        this.skipped = Collections.unmodifiableSet(skipped.isEmpty() ? EnumSet.noneOf(Op.class) : EnumSet.copyOf(skipped));
        this.module = module;
    }

    /** DJL's ops one by one. */
    public static Backend eager(Device device) {
        return new Backend(device, Mode.EAGER, Set.of(), null);
    }

    /** Every fused op on {@code device}; fails where the module does not load there. */
    public static Backend fused(Device device) {
        FusedOps module = FusedOps.forDevice(device).orElseThrow(() -> new IllegalStateException(
                "the fused ops module (" + FusedOps.RESOURCE + ") did not load on " + device + "; see the log"));
        return new Backend(device, Mode.FUSED, Set.of(), module);
    }

    /** The backend models on {@code device} get: -Dblockdraft.fusedOps and .skip, read now. */
    public static Backend forDevice(Device device) {
        return of(device, System.getProperty(MODE_PROPERTY, "auto"), System.getProperty(SKIP_PROPERTY, ""));
    }

    /**
     * The backend for {@code device} under a mode setting (auto, on, off) and a comma-separated list of ops to
     * keep eager; eager where fused ops are wanted but the module does not load (logged by {@link FusedOps}).
     */
    public static Backend of(Device device, String modeSetting, String skipSetting) {
        boolean wanted = switch (modeSetting.trim()) {
            case "off" -> false;
            case "on" -> true;
            case "auto" -> device.isGpu();
            default -> throw new IllegalArgumentException(
                    "-D" + MODE_PROPERTY + "=" + modeSetting + " must be auto, on or off");
        };
        List<Op> skip = new ArrayList<>();
        for (String s : skipSetting.split(",")) {
            if (!s.isBlank()) {
                skip.add(Op.parse(s.trim(), "-D" + SKIP_PROPERTY + "=" + skipSetting));
            }
        }
        if (!wanted) {
            return eager(device);
        }
        return FusedOps.forDevice(device).map(m -> new Backend(device, Mode.FUSED, EnumSet.noneOf(Op.class), m))
                .orElseGet(() -> eager(device)).skipping(skip);
    }

    /** This backend with {@code ops} kept eager as well (no change for an eager one). */
    public Backend skipping(Collection<Op> ops) {
        if (mode == Mode.EAGER || ops.isEmpty()) {
            return this;
        }
        EnumSet<Op> all = EnumSet.copyOf(ops);
        all.addAll(skipped);
        return new Backend(device, mode, all, module);
    }

    public Backend skipping(Op... ops) {
        return skipping(Arrays.asList(ops));
    }

    public Device device() {
        return device;
    }

    public Mode mode() {
        return mode;
    }

    /** The ops a fused backend keeps eager; empty for an eager one. */
    public Set<Op> skipped() {
        return skipped;
    }

    public boolean fuses(Op op) {
        return mode == Mode.FUSED && !skipped.contains(op);
    }

    /** The module's kernels where {@code op} is fused, else empty (run the eager version). */
    public Optional<FusedOps> kernels(Op op) {
        return fuses(op) ? Optional.of(module) : Optional.empty();
    }

    /** {@link Ops#rmsNorm}, or HF's own code in one call (x widened to fp32, normalised, narrowed, times w). */
    public NDArray rmsNorm(NDArray x, NDArray weight, double eps) {
        return fuses(Op.RMS_NORM) ? module.rmsNorm(x, weight, eps) : Ops.rmsNorm(x, weight, eps);
    }

    /** {@link Ops#swiGlu}, or one call. */
    public NDArray swiGlu(NDArray x, NDArray gate, NDArray up, NDArray down) {
        return fuses(Op.SWIGLU) ? module.swiGlu(x, gate, up, down) : Ops.swiGlu(x, gate, up, down);
    }

    /** {@link Ops#attention}, or PyTorch's fused kernels (flash, memory-efficient): same arguments and shapes. */
    public NDArray attention(NDArray q, NDArray k, NDArray v, NDArray additiveMask) {
        return fuses(Op.ATTENTION) ? module.masked(q, k, v, additiveMask) : Ops.attention(q, k, v, additiveMask);
    }

    /** "eager", "fused", or "fused (eager: rms_norm, swiglu)": what provenance and bench record. */
    @Override
    public String toString() {
        if (mode == Mode.EAGER) {
            return "eager";
        }
        return skipped.isEmpty() ? "fused"
                : "fused (eager: " + skipped.stream().map(Op::id).collect(Collectors.joining(", ")) + ")";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Backend b && b.device.equals(device) && b.mode == mode && b.skipped.equals(skipped);
    }

    @Override
    public int hashCode() {
        return device.hashCode() * 31 + mode.hashCode() * 7 + skipped.hashCode();
    }
}
