package dev.blockdraft.spec;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.lm.KvCache;

/** {@link BlockProposer#of}: the block drafter with its context cached per sequence. */
final class DrafterProposer implements BlockProposer {
    private final Drafter drafter;
    private KvCache lastCache; // the last opened sequence's, for tests that compare it with a fresh prefill

    DrafterProposer(Drafter drafter) {
        this.drafter = drafter;
    }

    @Override
    public int blockSize() {
        return drafter.config().blockSize();
    }

    @Override
    public int[] featureLayers() {
        return drafter.config().featureLayers();
    }

    /** The context cache of the sequence opened last. */
    KvCache lastContextCache() {
        return lastCache;
    }

    @Override
    public Context open(NDManager scope, int capacity) {
        KvCache cache = drafter.newContextCache(scope, capacity);
        lastCache = cache;
        return new Context() {
            @Override
            public void accept(NDArray features) {
                drafter.appendContext(cache, features);
            }

            @Override
            public int[] propose(int anchor, NDManager stepScope) {
                return drafter.draftBlock(cache, anchor, stepScope);
            }

            @Override
            public NDArray slotLogits(int anchor, NDManager stepScope) {
                return drafter.blockLogits(cache, anchor, stepScope);
            }

            @Override
            public void truncate(int length) {
                cache.truncate(length);
            }

            @Override
            public void close() {
                cache.close();
            }
        };
    }
}
