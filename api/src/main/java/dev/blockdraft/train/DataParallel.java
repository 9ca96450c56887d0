package dev.blockdraft.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.draft.BlockBatch;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.nn.Backend;
import dev.blockdraft.nn.StateDict;
import dev.blockdraft.train.objective.BatchTotals;
import dev.blockdraft.train.objective.Objective;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;

/**
 * The replicas of a data-parallel {@link DrafterStep} and the work between them. Replica 0 is the
 * drafter being trained: its fp32 parameters are the masters, and the optimizer and loss scaler
 * live beside them in the step. Replicas 1..N−1 hold a copy of the drafter's weights and of the
 * frozen target on their own device, in their own {@link NDManager}s (DJL managers are not made
 * for concurrent use); the devices may repeat (several replicas on {@code Device.cpu()} test the
 * whole path on one machine).
 *
 * <p>A step over M micro-batches (M a multiple of N) gives replica r the contiguous micro-batches
 * r·M/N … (r+1)·M/N − 1, then:
 *
 * <ol>
 *   <li>each replica, on its own thread, computes its micro-batches' {@link BatchTotals} (counts, and
 *       statistics from the no-gradient pass where the objective needs them);
 *   <li>the host sums them in replica order 0, 1, …, N−1 and {@linkplain Objective#advance advances}
 *       the one objective once; no replica reads its state before;
 *   <li>each replica, on its own thread, backpropagates its micro-batches' shares of the step's loss
 *       into its working parameters;
 *   <li>after every thread has finished, the gradients of replicas 1..N−1 are copied to replica 0's
 *       device and added to its own, in replica order, as fp32;
 * </ol>
 *
 * then the step clips, takes one AdamW step on the masters (or skips it when fp16 gradients
 * overflowed: one decision, on the summed gradients), and {@link #broadcast}s the updated masters to
 * the replicas. Shares are exact parts of one pooled loss, so the sum is the gradient of the step
 * over all M micro-batches: data parallelism equals one device with the same global batch, and
 * averaging (as per-replica losses would) is wrong whenever the replicas' normalisers differ.
 *
 * <p>Why threads and a fixed order: on a GPU the host issuing the ops is the bottleneck, so one
 * thread issuing for every device in turn would be no faster than one device; one thread per
 * replica lets the devices work at once. Floating-point sums depend on their order, so every
 * reduction (totals, losses, terms, gradients) runs on the calling thread after all replicas
 * are done, in replica order: the same inputs give the same bits whatever the threads' timing.
 * The result differs from one device's by rounding only: one device adds the micro-batches'
 * gradients g0 + g1 + g2 + g3 one after the other, two replicas add (g0 + g1) + (g2 + g3).
 */
final class DataParallel implements AutoCloseable {

    /** One device's copy: its drafter (over its own parameters), its frozen target, and its pass. */
    private record Replica(Drafter drafter, LlamaModel target, MicroBatchPass pass) {
        StateDict parameters() {
            return drafter.parameters();
        }
    }

    private final List<Device> devices;
    private final List<Replica> copies; // replicas 1..N-1; replica 0 is the step's own drafter
    private final List<ExecutorService> threads; // one per replica, so a replica's ops always come from the same thread
    private final Objective objective;
    private final Precision precision;

    /**
     * @param devices every replica's device, replica 0's first (it must be the drafter's)
     * @param halfTarget compute each replica's features with an fp16 copy of its target
     */
    DataParallel(Drafter drafter, List<Device> devices, Objective objective, Precision precision, boolean halfTarget) {
        if (devices.size() < 2) {
            throw new IllegalArgumentException("data parallelism needs at least 2 devices, got " + devices);
        }
        if (!devices.get(0).equals(drafter.device())) {
            throw new IllegalArgumentException("the first device " + devices.get(0) + " must be the drafter's, "
                    + drafter.device());
        }
        if (!objective.pools()) {
            throw new IllegalArgumentException(objective + " does not pool micro-batches; data-parallel training"
                    + " needs an objective that does (every built-in one)");
        }
        this.devices = List.copyOf(devices);
        this.objective = objective;
        this.precision = precision;
        boolean half = halfTarget || precision == Precision.FP16;
        List<Replica> made = new ArrayList<>();
        boolean wasRecording = MicroBatchPass.recording(false); // copies are new leaves, outside any graph
        try {
            for (Device device : devices.subList(1, devices.size())) {
                LlamaModel target = LlamaModel.fromParameters(drafter.target().config(),
                        copyOf(drafter.target().parameters(), device)).withBackend(backendLike(drafter.backend(), device));
                StateDict params = copyOf(drafter.parameters(), device);
                params.requireGradients(precision == Precision.FP32); // fp16 takes gradients on copies
                LlamaModel features = half ? target.halfPrecisionCopy() : target;
                made.add(new Replica(drafter.over(params, target), target, new MicroBatchPass(objective, precision, features)));
            }
        } finally {
            MicroBatchPass.recording(wasRecording);
        }
        this.copies = List.copyOf(made);
        List<ExecutorService> pools = new ArrayList<>();
        for (int r = 0; r < devices.size(); r++) {
            String name = "blockdraft-replica-" + r + "-" + devices.get(r);
            pools.add(Executors.newSingleThreadExecutor(task -> {
                Thread t = new Thread(task, name);
                t.setDaemon(true);
                return t;
            }));
        }
        this.threads = List.copyOf(pools);
    }

    List<Device> devices() {
        return devices;
    }

    /** What {@link #accumulate} left: the step's loss and terms, and the summed fp32 gradients on replica 0's device. */
    record Summed(double loss, Map<String, Double> terms, Map<String, NDArray> gradients) {}

    /**
     * Steps 1–4 of the class comment: totals, one advance, backward per replica, gradients summed.
     *
     * @param model replica 0's drafter over its working parameters (the masters in fp32, fp16 copies in fp16)
     * @param pass replica 0's pass
     * @param scope replica 0's per-step manager; the summed gradients belong to it
     */
    Summed accumulate(Drafter model, MicroBatchPass pass, List<BlockBatch> microBatches, double lossScale,
            NDManager scope, DrafterStep.PhaseMarks marks) {
        int n = devices.size();
        int micros = microBatches.size();
        if (micros % n != 0) {
            throw new IllegalArgumentException(micros + " micro-batches cannot be split evenly over " + n + " devices");
        }
        int each = micros / n;
        List<NDManager> scopes = new ArrayList<>();
        try {
            List<Drafter> models = new ArrayList<>();
            List<MicroBatchPass> passes = new ArrayList<>();
            models.add(model);
            passes.add(pass);
            scopes.add(scope);
            for (Replica c : copies) {
                NDManager s = c.parameters().manager().newSubManager();
                scopes.add(s);
                if (precision == Precision.FP16) {
                    StateDict working = c.parameters().halfPrecisionCopy(s);
                    working.requireGradients(true);
                    models.add(c.drafter().over(working, c.pass().featureModel()));
                } else {
                    models.add(c.drafter());
                }
                passes.add(c.pass());
            }
            IntFunction<List<BlockBatch>> share = r -> microBatches.subList(r * each, (r + 1) * each);
            List<List<NDArray>> features = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                features.add(new ArrayList<>());
            }
            List<BatchTotals> parts = onEveryReplica(r -> passes.get(r).totals(models.get(r), share.apply(r), scopes.get(r),
                    features.get(r), DrafterStep.PhaseMarks.NONE));
            // in replica order (a sequential reduce): the same sum whatever the threads' timing
            BatchTotals totals = parts.stream().reduce(BatchTotals.NONE, BatchTotals::plus);
            objective.advance(totals); // once per step, before any replica reads the state
            marks.mark("totals on every replica, advance");
            List<MicroBatchPass.Partial> partials = onEveryReplica(r -> passes.get(r).backward(models.get(r),
                    share.apply(r), totals, features.get(r), lossScale, micros, scopes.get(r), DrafterStep.PhaseMarks.NONE));
            marks.mark("forward and backward on every replica");
            double loss = 0;
            Map<String, Double> terms = new LinkedHashMap<>();
            for (MicroBatchPass.Partial p : partials) {
                loss += p.lossSum();
                p.terms().forEach((k, v) -> terms.merge(k, v, Double::sum));
            }
            Map<String, NDArray> sum = GradientStep.fp32Gradients(model.parameters(), scope);
            Device home = devices.get(0);
            for (int r = 1; r < n; r++) {
                Map<String, NDArray> theirs = GradientStep.fp32Gradients(models.get(r).parameters(), scopes.get(r));
                sum.replaceAll((name, g) -> g.add(onDevice(theirs.get(name), home)));
            }
            marks.mark("gradients summed on " + home);
            return new Summed(loss, terms, sum);
        } finally {
            if (precision == Precision.FP32) {
                for (Replica c : copies) {
                    AdamW.zeroGradients(c.parameters()); // backward accumulates into .grad: clear it for the next step
                }
            }
            for (NDManager s : scopes.subList(Math.min(1, scopes.size()), scopes.size())) {
                s.close();
            }
        }
    }

    /**
     * Copies the masters' weights to every other replica (after the optimizer step): replicas
     * start every step from the same weights. Also what a resumed run does after restoring them.
     */
    void broadcast(StateDict master) {
        boolean wasRecording = MicroBatchPass.recording(false);
        try {
            for (Replica c : copies) {
                Device device = c.drafter().device();
                for (Map.Entry<String, NDArray> e : master.asMap().entrySet()) {
                    c.parameters().put(e.getKey(), copy(e.getValue(), device));
                }
                c.parameters().requireGradients(precision == Precision.FP32);
            }
        } finally {
            MicroBatchPass.recording(wasRecording);
        }
    }

    /** Runs {@code work} for every replica, each on its own thread; the results in replica order. */
    private <T> List<T> onEveryReplica(IntFunction<T> work) {
        List<Future<T>> running = new ArrayList<>();
        for (int r = 0; r < devices.size(); r++) {
            int replica = r;
            running.add(threads.get(r).submit(() -> work.apply(replica)));
        }
        List<T> out = new ArrayList<>();
        RuntimeException failed = null;
        for (Future<T> f : running) { // wait for all, even after a failure: no thread still writes a scope we close
            try {
                out.add(f.get());
            } catch (ExecutionException e) {
                if (failed == null) {
                    failed = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failed = new IllegalStateException("interrupted while the replicas ran", e);
            }
        }
        if (failed != null) {
            throw failed;
        }
        return out;
    }

    /** {@code a} on {@code device}: itself when already there (read only), else a copy. */
    private static NDArray onDevice(NDArray a, Device device) {
        return a.getDevice().equals(device) ? a : a.toDevice(device, false);
    }

    /**
     * A copy of {@code a} on {@code device} that shares nothing with it, outside any graph, for the caller
     * to attach. On the same device DJL's {@code toDevice(device, true)} would hand back the same
     * tensor, so this clones. Across devices DJL registers a new sub-manager of the source's manager
     * for every copy; copying from a view in a scratch manager keeps that off the masters' manager
     * (a broadcast every step would otherwise pile them up there).
     */
    private static NDArray copy(NDArray a, Device device) {
        if (a.getDevice().equals(device)) {
            return a.duplicate();
        }
        try (NDManager scratch = a.getManager().newSubManager()) {
            NDArray view = a.get(":"); // shares a's storage
            view.attach(scratch);
            NDArray there = view.toDevice(device, false);
            there.detach(); // leaves the scratch sub-manager; the caller attaches it
            return there;
        }
    }

    /** The backend of the replicas' models on {@code device}: eager or fused as the masters' is, skipping the same ops. */
    private static Backend backendLike(Backend master, Device device) {
        return master.mode() == Backend.Mode.EAGER ? Backend.eager(device)
                : Backend.fused(device).skipping(master.skipped());
    }

    /** A copy of every tensor of {@code params} on {@code device}, in a new manager of that device. */
    private static StateDict copyOf(StateDict params, Device device) {
        StateDict out = new StateDict(NDManager.newBaseManager(device));
        params.asMap().forEach((name, a) -> out.put(name, copy(a, device)));
        return out;
    }

    @Override
    public void close() {
        threads.forEach(ExecutorService::shutdownNow);
        for (Replica c : copies) {
            if (c.pass().featureModel() != c.target()) {
                c.pass().featureModel().close();
            }
            c.target().close();
            c.drafter().close();
        }
    }
}
