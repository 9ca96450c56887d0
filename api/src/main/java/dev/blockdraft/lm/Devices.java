package dev.blockdraft.lm;

import ai.djl.Device;
import ai.djl.engine.Engine;

/** Parses the user's device choice: {@code cpu} (the default), {@code gpu} or {@code gpu:N}. */
public final class Devices {
    private Devices() {}

    public static Device parse(String spec) {
        if (spec == null || spec.isBlank() || spec.equals("cpu")) {
            return Device.cpu();
        }
        if (spec.equals("gpu") || spec.startsWith("gpu:")) {
            int index = 0;
            if (spec.startsWith("gpu:")) {
                try {
                    index = Integer.parseInt(spec.substring(4));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--device " + spec + ": expected cpu, gpu or gpu:N");
                }
            }
            int available = Engine.getInstance().getGpuCount();
            if (index >= available) {
                throw new IllegalArgumentException("--device " + spec + ": this machine's PyTorch engine sees "
                        + available + " GPU(s)" + (available == 0 ? "; see README 'GPU' to point DJL at a CUDA libtorch" : ""));
            }
            return Device.gpu(index);
        }
        throw new IllegalArgumentException("--device " + spec + ": expected cpu, gpu or gpu:N");
    }
}
