package dev.blockdraft.spec;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.draft.Drafter;

/**
 * What speculative decoding needs from a drafter: a block size, the target layers it reads, and
 * per sequence a context that takes the target's features of verified tokens and proposes the
 * next B−1 tokens after an anchor. The block drafter is one; tests script others.
 */
public interface BlockProposer {

    int blockSize();

    /** Target layers whose outputs {@link Context#accept} receives, concatenated on the last axis. */
    int[] featureLayers();

    /** Opens the drafting state of one sequence of at most {@code capacity} tokens. */
    Context open(NDManager scope, int capacity);

    /** Drafting state of one sequence. */
    interface Context extends AutoCloseable {
        /** Features (1, T, F) of the next T verified tokens, in order. */
        void accept(NDArray features);

        /** B−1 tokens proposed after {@code anchor}, which sits right after the accepted tokens. */
        int[] propose(int anchor, NDManager scope);

        /**
         * Logits (B−1, V) of each slot after {@code anchor}, from one parallel pass: what sampled
         * drafts, several candidate blocks and draft trees are built from.
         */
        default NDArray slotLogits(int anchor, NDManager scope) {
            throw new UnsupportedOperationException(getClass().getSimpleName() + " gives no slot distributions");
        }

        /** Forgets the features of every token from position {@code length} on. */
        default void truncate(int length) {
            throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot forget accepted tokens");
        }

        @Override
        void close();
    }

    /** The block-diffusion drafter as a proposer: context K/V cached, one parallel step per block. */
    static BlockProposer of(Drafter drafter) {
        return new DrafterProposer(drafter);
    }
}
