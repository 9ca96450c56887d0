package dev.blockdraft.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DecontaminationTest {

    @Test
    void normalizationCollapsesWhitespaceAndCase() {
        assertEquals("what is 2 + 2?", Decontamination.normalize("  What   is\n2 +\t2?  "));
    }

    @Test
    void syntheticContaminatedRecordIsDropped() {
        DataFolder folder = TestDataFolder.find();
        Decontamination filter = Decontamination.againstAllBenchmarks(folder);
        BenchmarkPrompt gsm = Benchmarks.load(folder, Benchmark.GSM8K, 1).get(0);
        BenchmarkPrompt mtSecondTurn = Benchmarks.load(folder, Benchmark.MT_BENCH, 1).get(0);

        List<CorpusRecord> records = new ArrayList<>(Corpus.read(folder.corpus("gsm8k_train"), 50));
        // A reformatted copy of a test question must still be caught.
        records.add(new CorpusRecord.Instruction("leak/1", "  " + gsm.turns().get(0).toUpperCase().replace(" ", "\n "), "18"));
        records.add(new CorpusRecord.Instruction("leak/2", mtSecondTurn.turns().get(1), "A..."));
        records.add(new CorpusRecord.Document("leak/3", gsm.turns().get(0)));

        Decontamination.Result result = filter.filter(records);
        assertEquals(3, result.dropped());
        assertEquals(50, result.kept().size());
        assertFalse(result.kept().stream().anyMatch(r -> r.id().startsWith("leak/")));
    }

    @Test
    void realTrainingCorporaAreClean() {
        DataFolder folder = TestDataFolder.find();
        Decontamination filter = Decontamination.againstAllBenchmarks(folder);
        // 1319 + 500 + 164 + 974 + 160 + 80 turns; a few may coincide after normalization
        assertTrue(filter.turnCount() > 3100 && filter.turnCount() <= 3197, "turns: " + filter.turnCount());
        assertEquals(0, filter.filter(Corpus.read(folder.corpus("gsm8k_train"), -1)).dropped());
    }

    @Test
    void filterAgainstGivenPrompts() {
        Decontamination filter = Decontamination.against(List.of(new BenchmarkPrompt("b/1", List.of("Hi there"), null, null)));
        assertTrue(filter.isContaminated(new CorpusRecord.Instruction("c", "hi  THERE", "x")));
        assertFalse(filter.isContaminated(new CorpusRecord.Instruction("c", "hi there!", "x")));
    }
}
