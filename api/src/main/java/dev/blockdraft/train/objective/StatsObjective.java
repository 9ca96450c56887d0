package dev.blockdraft.train.objective;

import ai.djl.ndarray.NDArray;

/** Built-in objectives: computed from a shared {@link SlotStats}. */
interface StatsObjective extends Objective {

    @Override
    default ObjectiveValue loss(DraftBatch batch, NDArray logits) {
        return loss(SlotStats.of(batch, logits));
    }

    @Override
    ObjectiveValue loss(SlotStats stats);

    @Override
    default boolean pools() {
        return true;
    }

    @Override
    BatchTotals counts(DraftBatch batch);

    @Override
    ObjectiveValue share(SlotStats stats, BatchTotals totals);
}
