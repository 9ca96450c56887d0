package dev.blockdraft.io;

import ai.djl.Device;
import java.lang.management.ManagementFactory;

/** How much memory tensors may take on a device: for checks before allocating, not for accounting. */
public final class Memory {
    private Memory() {}

    /**
     * The device's total memory: a GPU's as CUDA reports it, a CPU's physical memory (DJL's tensors
     * live outside the Java heap). {@link Long#MAX_VALUE} when unknown, so a check never refuses
     * for lack of information.
     */
    public static long availableBytes(Device device) {
        try {
            if (device.isGpu()) {
                return ai.djl.util.cuda.CudaUtils.getGpuMemory(device).getMax();
            }
            java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
            if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
                long total = sun.getTotalMemorySize();
                return total > 0 ? total : Long.MAX_VALUE;
            }
        } catch (RuntimeException | LinkageError e) {
            // no CUDA library or no management bean: nothing to compare against
        }
        return Long.MAX_VALUE;
    }
}
