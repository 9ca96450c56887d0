package dev.blockdraft.lm;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.ArrayList;
import java.util.List;

/** Parses the user's device choice: {@code cpu} (the default), {@code gpu} or {@code gpu:N}, or a list of them. */
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

    /**
     * A comma-separated device list, e.g. {@code gpu:0,gpu:1} or {@code cpu,cpu} (replicas may share a
     * device: that tests data parallelism on one CPU); every entry of one kind, CPU or GPU.
     *
     * @param flag the flag the list came from, named in errors
     */
    public static List<Device> parseList(String flag, String list) {
        String valid = "expected a comma-separated list of cpu, gpu or gpu:N, e.g. gpu:0,gpu:1 or cpu,cpu";
        if (list == null || list.isBlank()) {
            throw new IllegalArgumentException(flag + " '" + (list == null ? "" : list) + "': " + valid);
        }
        List<Device> out = new ArrayList<>();
        for (String item : list.split(",", -1)) {
            String spec = item.trim();
            if (!spec.equals("cpu") && !spec.equals("gpu") && !spec.matches("gpu:[0-9]+")) {
                throw new IllegalArgumentException(flag + " " + list + ": '" + spec + "' is not a device; " + valid);
            }
            try {
                out.add(parse(spec));
            } catch (IllegalArgumentException e) { // names --device: say which entry of which flag
                throw new IllegalArgumentException(flag + " " + list + ": '" + spec + "': "
                        + e.getMessage().substring(e.getMessage().indexOf(": ") + 2));
            }
        }
        if (out.stream().map(Device::isGpu).distinct().count() > 1) {
            throw new IllegalArgumentException(flag + " " + list + ": mixes CPU and GPU; every device must be of one kind");
        }
        return List.copyOf(out);
    }

    /** The list as {@link #parseList} reads it: {@code cpu,cpu}, {@code gpu:0,gpu:1}. */
    public static String format(List<Device> devices) {
        StringBuilder b = new StringBuilder();
        for (Device d : devices) {
            b.append(b.length() > 0 ? "," : "").append(d.isGpu() ? "gpu:" + d.getDeviceId() : d.getDeviceType());
        }
        return b.toString();
    }
}
