package dev.blockdraft.eval;

import dev.blockdraft.report.HtmlReport;
import java.nio.file.Path;
import java.util.List;

/** Standalone HTML reports of acceptance measurements. */
public final class Reports {
    private Reports() {}

    /**
     * The report as {@link HtmlReport}: the explanation, the comparison (table with the best τ per
     * benchmark marked, grouped bar figure), then one section per acceptance report (table, per-slot
     * acceptance, accepted-length histogram). plotly.js is inlined once; the page opens offline.
     *
     * @param comparison  may be null (only the individual reports are shown)
     * @param reports     may be empty
     * @param explanation a paragraph under the title (may be null or blank)
     */
    public static HtmlReport html(String title, Comparison comparison, List<AcceptanceReport> reports, String explanation) {
        HtmlReport html = HtmlReport.titled(title);
        if (explanation != null && !explanation.isBlank()) {
            for (String paragraph : explanation.strip().split("\\n\\s*\\n")) {
                html = html.text(paragraph.strip());
            }
        }
        if (comparison != null) {
            html = html.section("τ per benchmark and objective").table(comparison.tableView()).figure(comparison.tauFigure());
            long mismatches = comparison.allReports().stream().mapToInt(AcceptanceReport::mismatches).sum();
            if (comparison.allReports().stream().anyMatch(AcceptanceReport::hasBaseline)) {
                html = html.text(mismatches == 0
                        ? "Speculative outputs were token-identical to the target's greedy decoding on every turn."
                        : "WARNING: " + mismatches + " speculative outputs differed from the target's greedy decoding.");
            }
        }
        for (AcceptanceReport r : reports) {
            html = html.section(r.title() + " (B=" + r.blockSize() + ")").table(r.tableView())
                    .figure(r.slotAcceptanceFigure()).figure(r.histogramFigure());
            if (r.settings().isPresent()) {
                html = html.text("Settings: " + r.settings().get());
            }
            if (r.provenance().isPresent()) {
                var p = r.provenance().get();
                html = html.text("Provenance: git " + p.gitCommit() + ", " + p.engine() + ", device " + p.device() + " (" + p.backend() + " ops), "
                        + p.createdAt());
            }
        }
        return html;
    }

    /** Writes {@link #html} to {@code file} atomically; returns the absolute path. */
    public static Path writeHtml(Path file, String title, Comparison comparison, List<AcceptanceReport> reports,
            String explanation) {
        return html(title, comparison, reports, explanation).writeTo(file);
    }
}
