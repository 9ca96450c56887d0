package dev.blockdraft.grid;

import ai.djl.Device;
import com.google.gson.JsonObject;
import dev.blockdraft.Workflows;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.draft.DrafterCheckpoint;
import dev.blockdraft.draft.DrafterConfig;
import dev.blockdraft.eval.AcceptanceReport;
import dev.blockdraft.eval.SpeculativeEvaluator;
import dev.blockdraft.io.AtomicFiles;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.JsonFiles;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.lm.Devices;
import dev.blockdraft.lm.Target;
import dev.blockdraft.nn.Backend;
import dev.blockdraft.train.DrafterTrainer;
import dev.blockdraft.train.RegeneratedData;
import dev.blockdraft.train.TrainerState;
import dev.blockdraft.train.TrainingListener;
import dev.blockdraft.train.TrainingRun;
import dev.blockdraft.tokenize.MaskToken;
import dev.blockdraft.train.objective.Objectives;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Runs the cells of a grid (or of one shard of it), each into its folder:
 *
 * <pre>
 * &lt;out&gt;/&lt;cell&gt;/cell.json        the experiment's settings and their hash, written first
 * &lt;out&gt;/&lt;cell&gt;/drafter/         the drafter, checkpointed while it trains (and drafter/best)
 * &lt;out&gt;/&lt;cell&gt;/acceptance.json  the acceptance report with per-prompt results, written last
 * &lt;out&gt;/regenerated/&lt;target&gt;-&lt;hash&gt;/  regenerated data, shared by the cells of one (target, recipe)
 * </pre>
 *
 * A cell is finished when its {@code acceptance.json} exists and records the cell's settings hash:
 * rerunning skips it. A cell with a checkpoint but no report resumes training from the checkpoint
 * (or only evaluates, when training had finished). A folder whose recorded hash differs is refused
 * with the differing settings named: no cell is ever reused under other settings. Every file is
 * written atomically, so a kill at any moment loses at most the cell in progress since its last
 * checkpoint.
 */
public final class GridRunner {
    /** The cell record's file name. */
    public static final String CELL_FILE = "cell.json";
    public static final String CELL_FORMAT = "blockdraft-grid-cell/1";
    public static final String REPORT_FILE = "acceptance.json";
    public static final String DRAFTER_FOLDER = "drafter";
    /** The key of the settings hash in every provenance a cell writes. */
    public static final String HASH_KEY = "settings_hash";

    /** Told what happens to each cell; a listener that throws stops the grid, as a kill would. */
    public interface Listener {
        /** The cell was already finished under the same settings. */
        default void onSkipped(Cell cell) {}

        /** The cell is computed now; {@code resuming} when a checkpoint of it exists. */
        default void onStart(Cell cell, boolean resuming) {}

        default void onFinished(Cell cell, AcceptanceReport report) {}
    }

    /** What a run did: cells skipped as finished and cells computed, by name. */
    public record Summary(List<String> skipped, List<String> computed) {}

    private final DataFolder data;
    private final PrintStream log;
    private final List<TrainingListener> trainingListeners;
    private final Listener listener;

    public GridRunner(DataFolder data, PrintStream log, List<TrainingListener> trainingListeners, Listener listener) {
        this.data = Objects.requireNonNull(data, "data");
        this.log = log;
        this.trainingListeners = List.copyOf(trainingListeners);
        this.listener = listener == null ? new Listener() { } : listener;
    }

    /** The state of a cell's folder. */
    public enum Status { NEW, STARTED, FINISHED }

    /**
     * Whether the cell's folder is new, started or finished under the cell's settings; a folder
     * recorded under other settings is refused, naming them.
     */
    public static Status status(Path folder, Cell cell) {
        Path record = folder.resolve(CELL_FILE);
        if (!Files.exists(record)) {
            if (Files.exists(folder.resolve(REPORT_FILE)) || Files.exists(folder.resolve(DRAFTER_FOLDER))) {
                throw BadInputException.of(folder, "holds a drafter or report but no " + CELL_FILE
                        + " recording its settings; move it away or choose another grid \"out\"");
            }
            return Status.NEW;
        }
        JsonObject o = JsonFiles.readObject(record);
        String hash = o.has(HASH_KEY) ? o.get(HASH_KEY).getAsString() : "";
        if (!hash.equals(cell.experiment().settingsHash())) {
            Map<String, String> recorded = new LinkedHashMap<>();
            if (o.has("settings") && o.get("settings").isJsonObject()) {
                o.getAsJsonObject("settings").entrySet().forEach(e -> recorded.put(e.getKey(), e.getValue().getAsString()));
            }
            List<String> diff = cell.experiment().differences(recorded);
            throw BadInputException.of(folder, "cell " + cell.name() + " was computed under other settings ("
                    + (diff.isEmpty() ? "hash " + hash : String.join(", ", diff))
                    + "); move the folder away or choose another grid \"out\"");
        }
        Path report = folder.resolve(REPORT_FILE);
        if (Files.exists(report)) {
            String reportHash = AcceptanceReport.readJson(report).provenance()
                    .map(p -> p.settings().get(HASH_KEY)).orElse("");
            if (cell.experiment().settingsHash().equals(reportHash)) {
                return Status.FINISHED;
            }
            throw BadInputException.of(report, "records settings hash " + reportHash + ", not this cell's "
                    + cell.experiment().settingsHash() + "; move the folder away or choose another grid \"out\"");
        }
        return Status.STARTED;
    }

    /**
     * Runs the shard's cells: those that decode greedily with one block first (so that a cell
     * differing from one of them only in its decoding finds that drafter trained and evaluates it
     * instead of training its own; a shard that does not hold that cell trains its own copy), then by
     * the grid's objective order and by name; finished ones are skipped.
     */
    public Summary run(Grid grid, Shard shard) {
        List<String> skipped = new ArrayList<>(), computed = new ArrayList<>();
        List<Cell> cells = new ArrayList<>(grid.cells(shard));
        cells.sort(java.util.Comparator.comparing((Cell c) -> c.experiment().eval().testTimeAlignment())
                .thenComparing(c -> grid.objectives().indexOf(c.objective())));
        // refuse mismatched folders before spending any time
        Map<Cell, Status> states = new LinkedHashMap<>();
        for (Cell c : cells) {
            states.put(c, status(grid.cellFolder(c), c));
        }
        Map<String, RegeneratedData> regenerated = new HashMap<>();
        Target open = null;
        try {
            int k = 0;
            for (Cell cell : cells) {
                k++;
                if (states.get(cell) == Status.FINISHED) {
                    skipped.add(cell.name());
                    listener.onSkipped(cell);
                    print("[%d/%d] %s: finished, skipped", k, cells.size(), cell.name());
                    continue;
                }
                Experiment e = cell.experiment();
                if (open == null || !open.folder().equals(e.target().folder())) {
                    if (open != null) {
                        open.close();
                        open = null;
                    }
                    open = Target.load(e.target().folder(), Devices.parse(e.device()));
                }
                boolean resuming = states.get(cell) == Status.STARTED;
                print("[%d/%d] %s: %s", k, cells.size(), cell.name(), resuming ? "resuming" : "starting");
                listener.onStart(cell, resuming);
                Target target = open;
                RegeneratedData rd = regenerated.computeIfAbsent(e.dataHash(), h -> regenerated(grid, target, e));
                AcceptanceReport report = runCell(grid, cell, target, rd);
                computed.add(cell.name());
                print("[%d/%d] %s: mean τ %.3f over %d benchmark(s)", k, cells.size(), cell.name(), report.meanTau(),
                        report.results().size());
                listener.onFinished(cell, report);
            }
        } finally {
            if (open != null) {
                open.close();
            }
        }
        return new Summary(List.copyOf(skipped), List.copyOf(computed));
    }

    /**
     * Makes (or checks) the regenerated data of every (target, recipe) of the grid and trains
     * nothing: run it once before starting shards on several machines, whose file locks may not
     * see each other on a shared file system.
     */
    public List<Path> prepare(Grid grid) {
        Map<String, Experiment> byData = new LinkedHashMap<>();
        grid.cells().forEach(c -> byData.putIfAbsent(c.experiment().dataHash(), c.experiment()));
        List<Path> folders = new ArrayList<>();
        for (Experiment e : byData.values()) {
            try (Target target = Target.load(e.target().folder(), Devices.parse(e.device()))) {
                regenerated(grid, target, e);
                folders.add(regeneratedFolder(grid, e));
            }
        }
        return folders;
    }

    /** {@code <out>/regenerated/<target>-<first 12 hex of the data hash>}. */
    public static Path regeneratedFolder(Grid grid, Experiment e) {
        return grid.out().resolve("regenerated").resolve(Cell.safe(e.target().name()) + "-" + e.dataHash().substring(0, 12));
    }

    /**
     * The (target, recipe) data, made once: shards on one host wait on a file lock for the first
     * one to make it, then read it.
     */
    private RegeneratedData regenerated(Grid grid, Target target, Experiment e) {
        Path folder = regeneratedFolder(grid, e);
        try {
            Files.createDirectories(folder.getParent());
            Path lock = folder.getParent().resolve(folder.getFileName() + ".lock");
            try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    FileLock held = ch.lock()) {
                if (!Files.exists(folder.resolve(RegeneratedData.MANIFEST))) {
                    print("regenerating drafter data into %s", folder);
                }
                RegeneratedData rd = Workflows.regeneratedData(target, data, folder, e.recipe());
                print("regenerated data: %d training + %d validation sequences (%,d tokens)", rd.train().size(),
                        rd.validation().size(), rd.manifest().trainTokens());
                return rd;
            }
        } catch (IOException ex) {
            throw new UncheckedIOException("regenerating into " + folder + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * A finished drafter of another cell with the same drafter settings ({@link Experiment#drafterHash}),
     * or null: a cell that differs only in how it is evaluated measures that drafter.
     */
    private static Path donorDrafter(Grid grid, Cell cell) {
        String want = cell.experiment().drafterHash();
        for (Cell other : grid.cells()) {
            if (other.equals(cell) || !other.experiment().drafterHash().equals(want)) {
                continue;
            }
            Path dir = grid.cellFolder(other).resolve(DRAFTER_FOLDER);
            TrainerState state = Files.isDirectory(dir) ? TrainerState.read(dir) : null;
            if (state != null && state.step() >= other.steps()) {
                return dir;
            }
        }
        return null;
    }

    private AcceptanceReport runCell(Grid grid, Cell cell, Target target, RegeneratedData rd) {
        Path folder = grid.cellFolder(cell);
        Path regeneratedFolder = regeneratedFolder(grid, cell.experiment());
        Experiment e = cell.experiment();
        String hash = e.settingsHash();
        if (!Files.exists(folder.resolve(CELL_FILE))) {
            JsonObject o = new JsonObject();
            o.addProperty("format", CELL_FORMAT);
            o.addProperty("name", cell.name());
            o.addProperty("objective", cell.objective());
            o.addProperty("objective_spec", e.objective());
            o.addProperty("seed", cell.seed());
            o.addProperty(HASH_KEY, hash);
            o.add("settings", JsonFiles.GSON.toJsonTree(e.settings()));
            AtomicFiles.writeString(folder.resolve(CELL_FILE), JsonFiles.GSON.toJson(o) + "\n");
        }
        Map<String, String> settings = new LinkedHashMap<>(e.settings());
        settings.put(HASH_KEY, hash);
        settings.put("cell", cell.name());
        settings.put("objective_label", cell.objective());
        settings.put("objective_spec", e.objective());
        Map<String, String> parents = Map.of("target", e.target().folder().toString(),
                "regenerated", regeneratedFolder.toAbsolutePath().toString());
        Backend backend = target.model().backend();
        Path drafterDir = folder.resolve(DRAFTER_FOLDER);
        int padId = target.tokenizer().padId();
        TrainerState state = Files.isDirectory(drafterDir) ? TrainerState.read(drafterDir) : null;
        Path donor = state == null ? donorDrafter(grid, cell) : null;
        Drafter drafter;
        if (donor != null) {
            print("%s: evaluating the drafter of %s (same drafter settings)", cell.name(), donor.getParent().getFileName());
            drafterDir = donor;
            drafter = DrafterCheckpoint.load(drafterDir, target.model());
        } else if (state != null && state.step() >= e.training().optimizer().steps()) {
            drafter = DrafterCheckpoint.load(drafterDir, target.model()); // trained, killed before its report
        } else {
            DrafterConfig dc = DrafterConfig.forTarget(target.config(), e.target().name(), e.blockSize(),
                    MaskToken.choose(target.tokenizer(), target.config().vocabSize(), null).id(), target.model().device())
                    .withLayers(e.drafterLayers()); // the depth the cell's settings hash records
            if (e.featureLayers() != null) {
                dc = dc.withFeatureLayers(e.featureLayers());
            }
            Provenance provenance = Provenance.capture("drafter", backend, cell.seed(), settings, Map.of(), parents);
            drafter = Drafter.initialize(dc, target.model(), cell.seed());
            try {
                TrainingRun run = new DrafterTrainer(e.training(), Objectives.parse(e.objective()), trainingListeners)
                        .withPrecision(e.precision()).named(cell.objective())
                        .train(drafter, rd, padId, drafterDir, provenance);
                print("drafter %s: held-out τ %.3f (expected %.3f; %.3f outside loops, %.0f%% of blocks in them)",
                        cell.objective(), run.lastEval("tau"), run.lastEval("expected_tau"), run.lastEval("tau_outside_loops"),
                        100 * run.lastEval("loop_share"));
            } catch (RuntimeException ex) {
                drafter.close();
                throw ex;
            }
        }
        if (e.eval().checkpoint().equals("best") && Files.isDirectory(drafterDir.resolve(DrafterTrainer.BEST))) {
            drafter.close();
            drafter = DrafterCheckpoint.load(drafterDir.resolve(DrafterTrainer.BEST), target.model());
        }
        try (Drafter d = drafter) {
            SpeculativeEvaluator evaluator = new SpeculativeEvaluator().withObjective(cell.arm())
                    .withDrafterName(cell.name()).withDecoding(e.eval().decoding());
            evaluator = log == null ? evaluator.quiet() : evaluator.withProgress(log, System.console() != null);
            if (e.eval().offlineTau()) {
                evaluator = evaluator.withOfflineTau(Workflows.offlineTau(d, padId));
            }
            AcceptanceReport report = evaluator.evaluate(target, d, data, e.eval().toRun());
            Provenance measured = report.provenance().orElse(null);
            Map<String, String> all = new LinkedHashMap<>(measured == null ? Map.of() : measured.settings());
            all.putAll(settings);
            Map<String, String> allParents = new LinkedHashMap<>(parents);
            allParents.put("drafter", drafterDir.toAbsolutePath().toString());
            Provenance p = measured == null
                    ? Provenance.capture("grid-cell", backend, cell.seed(), all, Map.of(), allParents)
                    : new Provenance("grid-cell", measured.createdAt(), measured.gitCommit(), measured.javaVersion(),
                            measured.os(), measured.engine(), measured.device(), measured.backend(), cell.seed(), all, measured.dataSha256(),
                            allParents);
            report = report.withProvenance(p);
            report.writeJson(folder.resolve(REPORT_FILE));
            return report;
        }
    }

    private void print(String format, Object... args) {
        if (log != null) {
            log.println(String.format(format, args));
        }
    }
}
