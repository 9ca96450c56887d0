package dev.blockdraft.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class AnswerStatsTest {
    private static RegeneratedData.Sequence seq(int promptLength, int... response) {
        int[] ids = new int[promptLength + response.length];
        for (int i = 0; i < promptLength; i++) {
            ids[i] = 1000 + i;
        }
        System.arraycopy(response, 0, ids, promptLength, response.length);
        return new RegeneratedData.Sequence(ids, promptLength);
    }

    /** Plain-Java reference: count end positions whose n-gram equals one ending earlier. */
    private static long reference(int[] r, int n) {
        long count = 0;
        for (int end = n; end <= r.length; end++) {
            boolean seenBefore = false;
            for (int prev = n; prev < end && !seenBefore; prev++) {
                boolean same = true;
                for (int k = 0; k < n; k++) {
                    same &= r[end - n + k] == r[prev - n + k];
                }
                seenBefore = same;
            }
            count += seenBefore ? 1 : 0;
        }
        return count;
    }

    @Test
    void aLoopCountsEveryTokenAfterItsFirstPeriod() {
        int n = AnswerStats.NGRAM;
        int[] loop = new int[40];
        for (int i = 0; i < loop.length; i++) {
            loop[i] = i % 5; // a period-5 loop: from position n+5 on, every n-gram was seen 5 tokens earlier
        }
        AnswerStats s = AnswerStats.of(List.of(seq(7, loop)), 100);
        assertEquals(loop.length - (n + 5) + 1, s.repeatedTokens());
        assertEquals(reference(loop, n), s.repeatedTokens());
        assertEquals(0, s.cappedAnswers());
    }

    @Test
    void distinctTextHasNoRepeatsAndTheCapIsCounted() {
        int[] distinct = new int[30];
        for (int i = 0; i < distinct.length; i++) {
            distinct[i] = i;
        }
        AnswerStats s = AnswerStats.of(List.of(seq(3, distinct), seq(2, 1, 2, 3)), 30);
        assertEquals(0, s.repeatedTokens());
        assertEquals(33, s.responseTokens());
        assertEquals(1, s.cappedAnswers());
        assertEquals(0.5, s.cappedShare(), 1e-12);
    }

    @Test
    void promptTokensAreNotCountedAndRandomTextMatchesTheReference() {
        java.util.Random random = new java.util.Random(3);
        for (int trial = 0; trial < 20; trial++) {
            int[] r = new int[60];
            for (int i = 0; i < r.length; i++) {
                r[i] = random.nextInt(3); // a tiny vocabulary: repeats by chance
            }
            assertEquals(reference(r, AnswerStats.NGRAM), AnswerStats.of(List.of(seq(9, r)), 1000).repeatedTokens());
        }
    }
}
