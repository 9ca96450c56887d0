package dev.blockdraft.train;

import java.util.LinkedHashMap;
import java.util.Map;

/** Builds a {@link TrainingRun}'s MIME bundle: loss, validation and learning-rate figures. */
final class TrainingRunDisplay {
    private TrainingRunDisplay() {}

    static Map<String, Object> bundle(TrainingRun run) {
        Map<String, Object> bundle = new LinkedHashMap<>();
        bundle.put("text/plain", run.toString());
        return bundle;
    }
}
