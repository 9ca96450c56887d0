package dev.blockdraft.cli;

import dev.blockdraft.data.DataFolder;
import dev.blockdraft.grid.Cell;
import dev.blockdraft.grid.Grid;
import dev.blockdraft.grid.GridFile;
import dev.blockdraft.grid.GridReport;
import dev.blockdraft.grid.GridRunner;
import dev.blockdraft.grid.Shard;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "ablate", mixinStandardHelpOptions = true,
        description = "Run an ablation grid (targets × objectives × block sizes × steps × seeds), one folder per cell;"
                + " rerunning skips finished cells and resumes interrupted ones. --shard i/n runs every n-th cell"
                + " (one process per GPU or machine); --report merges every shard's cells into report.{csv,json,html}"
                + " and per_prompt.jsonl with 95%% intervals and paired tests against the grid's baseline.")
final class AblateCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "GRID.json", description = "the grid file (see benchmarks/grids/demo.json)")
    Path gridFile;

    @Option(names = "--out", paramLabel = "DIR", description = "output folder (default: the grid file's \"out\", else runs/grids/<name>)")
    Path out;

    // parsed in call(), so that a bad value is one line naming the flag (as every input error), not a usage dump
    @Option(names = "--shard", paramLabel = "i/n",
            description = "run only the cells whose index in name order is i modulo n (default: all)")
    String shard;

    @Option(names = "--report", description = "run nothing: read every finished cell (of all shards) and write the report")
    boolean reportOnly;

    @Option(names = "--prepare", description = "run nothing: only make the regenerated data every cell needs (before shards start on several machines)")
    boolean prepare;

    @Option(names = "--list", description = "run nothing: print this shard's cells and their state")
    boolean list;

    @Option(names = "--device", paramLabel = "cpu|gpu[:N]", description = "where tensors live (default: the grid file's \"device\", else cpu)")
    String device;

    @Mixin
    Options.Data data;

    @Override
    public Integer call() {
        Shard chosen = shard != null ? Shard.parse(shard) : Shard.ALL;
        Grid grid = GridFile.read(gridFile, device, out);
        if (list) {
            for (Cell c : grid.cells(chosen)) {
                System.out.println(c.name() + "  " + GridRunner.status(grid.cellFolder(c), c).name().toLowerCase(java.util.Locale.ROOT)
                        + "  " + c.experiment().settingsHash().substring(0, 12));
            }
            return 0;
        }
        if (prepare) {
            new GridRunner(data.resolve(), System.out, List.of(), null).prepare(grid)
                    .forEach(f -> System.out.println("regenerated data: " + f));
            return 0;
        }
        if (!reportOnly) {
            DataFolder folder = data.resolve();
            System.out.println(grid + (chosen.count() > 1 ? ", shard " + chosen + ": " + grid.cells(chosen).size() + " cells" : ""));
            GridRunner.Summary s = new GridRunner(folder, System.out, List.of(new ConsoleProgress("ablate")), null)
                    .run(grid, chosen);
            System.out.printf("%d cell(s) computed, %d already finished%n", s.computed().size(), s.skipped().size());
        }
        GridReport report = GridReport.read(grid);
        if (report.cells().isEmpty()) {
            System.out.println("no finished cell in " + grid.out() + " yet");
            return reportOnly ? 1 : 0;
        }
        if (!reportOnly && !report.missing().isEmpty()) {
            System.out.printf("%d of %d cells finished; after every shard has run: bin/blockdraft ablate %s --report%n",
                    report.cells().size(), grid.cells().size(), gridFile + (out != null ? " --out " + out : ""));
            return 0;
        }
        Path html = report.writeTo(grid.out());
        System.out.println();
        System.out.print(report);
        System.out.println("report: " + html + " (and report.csv, report.json, per_prompt.jsonl, per_benchmark.jsonl)");
        return 0;
    }
}
