package dev.blockdraft.report;

import tech.tablesaw.api.Table;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * An immutable standalone HTML report: a title, then sections holding paragraphs, tables and
 * figures. Opens offline: plotly.js is inlined once in the head when the report has figures.
 *
 * <pre>{@code
 * HtmlReport.titled("Run 42").section("Loss").figure(lossFigure).table(metrics).writeTo(path);
 * }</pre>
 */
public final class HtmlReport {

    private sealed interface Block permits Heading, Paragraph, TableBlock, FigureBlock {
    }

    private record Heading(String text) implements Block {
    }

    private record Paragraph(String text) implements Block {
    }

    private record TableBlock(TableView view) implements Block {
    }

    private record FigureBlock(Figure figure) implements Block {
    }

    private static final String STYLE = String.join("\n",
            "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;color:#222}",
            "table.blockdraft-table{border-collapse:collapse;margin:1em 0}",
            "table.blockdraft-table th,table.blockdraft-table td{border:1px solid #ccc;padding:4px 8px}",
            "table.blockdraft-table th{background:#f3f3f3}",
            "caption{font-weight:bold;text-align:left;padding:4px 0}");

    private final String title;
    private final List<Block> blocks;

    private HtmlReport(String title, List<Block> blocks) {
        this.title = Objects.requireNonNull(title, "title");
        this.blocks = blocks;
    }

    public static HtmlReport titled(String title) {
        return new HtmlReport(title, List.of());
    }

    /** Starts a new section with a heading. */
    public HtmlReport section(String heading) {
        return with(new Heading(heading));
    }

    /** A paragraph of plain text (escaped). */
    public HtmlReport text(String paragraph) {
        return with(new Paragraph(paragraph));
    }

    public HtmlReport table(Table table) {
        return with(new TableBlock(TableView.of(table)));
    }

    public HtmlReport table(TableView view) {
        return with(new TableBlock(view));
    }

    public HtmlReport figure(Figure figure) {
        return with(new FigureBlock(figure));
    }

    private HtmlReport with(Block block) {
        List<Block> newBlocks = new ArrayList<>(blocks);
        newBlocks.add(block);
        return new HtmlReport(title, Collections.unmodifiableList(newBlocks));
    }

    public String toHtml() {
        boolean hasFigures = blocks.stream().anyMatch(FigureBlock.class::isInstance);
        StringBuilder html = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<title>").append(HtmlTables.escape(title)).append("</title>\n")
                .append("<style>").append(STYLE).append("</style>\n");
        if (hasFigures) {
            html.append(PlotlyJs.libraryScript()).append('\n');
        }
        html.append("</head>\n<body>\n<h1>").append(HtmlTables.escape(title)).append("</h1>\n");
        int figureNumber = 0;
        for (Block block : blocks) {
            if (block instanceof Heading heading) {
                html.append("<h2>").append(HtmlTables.escape(heading.text())).append("</h2>\n");
            } else if (block instanceof Paragraph paragraph) {
                html.append("<p>").append(HtmlTables.escape(paragraph.text())).append("</p>\n");
            } else if (block instanceof TableBlock table) {
                html.append(table.view().toHtml()).append('\n');
            } else if (block instanceof FigureBlock figure) {
                html.append(figure.figure().toHtml("figure-" + (++figureNumber), false)).append('\n');
            }
        }
        return html.append("</body>\n</html>\n").toString();
    }

    /**
     * Writes the report to {@code file} atomically: readers (a browser refreshing, a CI artifact
     * upload) see the old report or the new one, never half a file.
     */
    public Path writeTo(Path file) {
        Path target = file.toAbsolutePath();
        try {
            Files.createDirectories(target.getParent());
            Path temp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
            try {
                Files.writeString(temp, toHtml(), StandardCharsets.UTF_8);
                try {
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(temp);
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write report " + target, e);
        }
    }

    /** {@code HtmlReport["Run 42": 2 sections, 1 table, 3 figures]}. */
    @Override
    public String toString() {
        return "HtmlReport[\"" + title + "\": " + count(Heading.class) + " sections, " + count(TableBlock.class)
                + " tables, " + count(FigureBlock.class) + " figures, " + count(Paragraph.class) + " paragraphs]";
    }

    private long count(Class<? extends Block> kind) {
        return blocks.stream().filter(kind::isInstance).count();
    }
}
