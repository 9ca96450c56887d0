package dev.blockdraft.train.objective;

/**
 * The counts a batch's normalisers need, read from its slot mask on the host (one copy of the
 * (N, K) mask): they need no forward pass, so a step can pool them over micro-batches up front.
 *
 * @param slots valid slots
 * @param blocks blocks with at least one valid slot
 * @param perSlot for each slot k, the blocks where k is valid (length K)
 */
record MaskCounts(double slots, double blocks, double[] perSlot) {

    static MaskCounts of(DraftBatch batch) {
        int n = batch.blocks(), k = batch.slots();
        float[] mask = batch.slotMask().toFloatArray(); // (N, K)
        double slots = 0, blocks = 0;
        double[] perSlot = new double[k];
        for (int i = 0; i < n; i++) {
            boolean any = false;
            for (int j = 0; j < k; j++) {
                if (mask[i * k + j] > 0.5f) {
                    slots++;
                    perSlot[j]++;
                    any = true;
                }
            }
            blocks += any ? 1 : 0;
        }
        return new MaskCounts(slots, blocks, perSlot);
    }
}
