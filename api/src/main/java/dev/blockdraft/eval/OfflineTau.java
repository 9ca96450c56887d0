package dev.blockdraft.eval;

import java.util.List;
import java.util.Objects;

/**
 * The τ a drafter is expected to reach on given sequences, computed offline (teacher-forced over
 * the target's greedy outputs, without decoding). The evaluator calls it once per benchmark with
 * that benchmark's sequences and reports the value beside the measured τ; the drafter-training code
 * supplies the implementation. Absent, the report shows NaN.
 */
@FunctionalInterface
public interface OfflineTau {

    /**
     * One decoded turn: the prompt (chat template rendered, earlier turns included) followed by the
     * target's greedy answer, as decoded (ending with the end-of-turn token when the answer ended
     * before the token budget).
     *
     * @param ids           prompt then answer
     * @param responseStart index of the answer's first token: {@code ids[0..responseStart)} is the prompt
     */
    record Sequence(int[] ids, int responseStart) {
        public Sequence {
            Objects.requireNonNull(ids, "ids");
            if (responseStart < 1 || responseStart > ids.length) {
                throw new IllegalArgumentException("responseStart=" + responseStart + " must be within 1.." + ids.length);
            }
        }

        /** Tokens of the answer. */
        public int responseLength() {
            return ids.length - responseStart;
        }
    }

    /** The expected τ (tokens per verification step, the bonus token included) over these sequences. */
    double expectedTau(List<Sequence> sequences);
}
