package dev.blockdraft.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.blockdraft.io.Provenance;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * {@code fused_ops.pt} was generated from the committed {@code tools/make_fused_ops.py}: the SHA-256 of both,
 * recorded when the module was made ({@code fused_ops.pt.sha256}, {@code sha256sum}'s format), still match, and
 * the module holds every method the script exports. Editing the script without regenerating the module on a
 * GPU host fails here.
 */
class FusedOpsModuleTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize(); // tests run in api/
    static final String SCRIPT = "tools/make_fused_ops.py";
    static final String MODULE = "api/src/main/resources/dev/blockdraft/nn/fused_ops.pt";
    static final String RECORD = MODULE + ".sha256";
    static final String REGENERATE = "regenerate the module on a GPU host (DEVELOPERS.md, 'The lent GPU host'; torch >= 2.4)"
            + " from the repository root: python3 " + SCRIPT + " && sha256sum " + SCRIPT + " " + MODULE + " > " + RECORD
            + ", then run FusedOpsTest there and on a CPU";

    @Test
    void theGeneratorIsTheOneTheModuleWasMadeWith() {
        String recorded = recorded().get(SCRIPT);
        String now = Provenance.sha256(ROOT.resolve(SCRIPT));
        assertEquals(recorded, now, SCRIPT + " changed since " + MODULE + " was generated (recorded sha256 " + recorded
                + ", now " + now + "): " + REGENERATE);
    }

    @Test
    void theModuleIsTheOneRecorded() {
        String recorded = recorded().get(MODULE);
        String now = Provenance.sha256(ROOT.resolve(MODULE));
        assertEquals(recorded, now, MODULE + " is not the file " + RECORD + " records (recorded sha256 " + recorded
                + ", now " + now + "): " + REGENERATE);
    }

    @Test
    void theModuleHoldsEveryMethodTheScriptExports() throws IOException {
        String script = Files.readString(ROOT.resolve(SCRIPT), StandardCharsets.UTF_8);
        Matcher exported = Pattern.compile("@torch\\.jit\\.export\\s+def (\\w+)\\(").matcher(script);
        List<String> methods = new java.util.ArrayList<>(List.of("forward"));
        while (exported.find()) {
            methods.add(exported.group(1));
        }
        assertTrue(methods.containsAll(List.of("causal", "rms_norm", "swiglu", "decoder_layer", "drafter_layer", "adamw",
                "global_norm")), "methods found in " + SCRIPT + ": " + methods);
        String code;
        try (ZipFile module = new ZipFile(ROOT.resolve(MODULE).toFile())) {
            ZipEntry entry = module.stream().filter(e -> e.getName().endsWith("/code/__torch__.py")).findFirst()
                    .orElseThrow(() -> new AssertionError(MODULE + " holds no TorchScript code/__torch__.py"));
            code = new String(module.getInputStream(entry).readAllBytes(), StandardCharsets.UTF_8);
        }
        for (String method : methods) {
            assertTrue(code.contains("def " + method + "(self"), MODULE + " lacks " + method + "(): " + REGENERATE);
        }
    }

    /** path → sha256 from the record, one {@code <hex>  <path>} line per file. */
    private static Map<String, String> recorded() {
        Path file = ROOT.resolve(RECORD);
        assertTrue(Files.isRegularFile(file), RECORD + " is missing: " + REGENERATE);
        Map<String, String> hashes = new LinkedHashMap<>();
        try {
            int n = 0;
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                String[] parts = line.trim().split("\\s+\\*?", 2);
                assertTrue(parts.length == 2 && parts[0].matches("[0-9a-f]{64}"),
                        RECORD + ":" + n + ": '" + line + "' is not '<sha256>  <path>'");
                hashes.put(parts[1], parts[0]);
            }
        } catch (IOException e) {
            throw new AssertionError(RECORD + ": " + e.getMessage(), e);
        }
        assertTrue(hashes.containsKey(SCRIPT) && hashes.containsKey(MODULE),
                RECORD + " must list " + SCRIPT + " and " + MODULE + ", lists " + hashes.keySet());
        return hashes;
    }
}
