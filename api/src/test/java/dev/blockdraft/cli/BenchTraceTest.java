package dev.blockdraft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench decode --trace}: the profiler traces of one plain and one speculative decode, for counting ops per token. */
@org.junit.jupiter.api.extension.ExtendWith(dev.blockdraft.eval.OneTorchThread.class)
class BenchTraceTest {
    @TempDir
    Path dir;

    @Test
    void benchDecodeWritesAPlainAndASpeculativeTrace() throws IOException {
        Path trace = dir.resolve("decode.json");
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"bench", "decode", "--preset", "cpu", "--prompts", "1", "--prompt-len", "8",
            "--max-new-tokens", "6", "--trace", trace.toString(), "--json", dir.resolve("out.json").toString()},
                new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
        assertEquals(0, code, err.toString());
        for (Path file : List.of(trace, dir.resolve("decode.json.spec.json"))) {
            List<?> events = new Gson().fromJson(Files.readString(file), List.class);
            long ops = events.stream().filter(e -> String.valueOf(((Map<?, ?>) e).get("name")).startsWith("aten::")).count();
            assertTrue(ops > 6, file + " holds " + ops + " aten ops for 6 decoded tokens");
        }
        Map<?, ?> out = new Gson().fromJson(Files.readString(dir.resolve("out.json")), Map.class);
        Map<?, ?> plain = (Map<?, ?>) ((Map<?, ?>) out.get("trace")).get("plain");
        assertEquals(6.0, plain.get("tokens"));
    }
}
