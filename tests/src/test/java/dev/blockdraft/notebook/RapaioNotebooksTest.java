package dev.blockdraft.notebook;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The project's notebooks in a stock rapaio-jupyter-kernel 3.0.1 (from Maven Central), set up as the README's
 * recipe says: rapaio's own installer, then {@code RJK_CLASSPATH} naming the one kernel-ext jar; the kernel starts
 * in the notebook's folder with no blockdraft system property. Same assertions as in blockdraft's kernel: real Plotly JSON, HTML tables, live updates.
 */
class RapaioNotebooksTest extends ProjectNotebooksTest {

    @Override
    protected String kernelName() {
        return "rapaio-project-test";
    }

    /**
     * rapaio's own installer ({@code java -jar rapaio-jupyter-kernel-3.0.1.jar -i -auto}, into a scratch home), then
     * {@code RJK_CLASSPATH} in its kernel.json set to the kernel-ext jar: the README's recipe. The spec is copied
     * under the test's Jupyter prefix; OMP_NUM_THREADS=1 only keeps libtorch from spin-waiting on shared CI cores.
     */
    @Override
    protected void installKernel() throws IOException, InterruptedException {
        Path home = Files.createDirectories(jupyter.work.resolve("rapaio-home"));
        jupyter.run(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Duser.home=" + home,
                "-jar", rapaioJar().toString(), "-i", "-auto"), 120);
        Path installed = home.resolve(".local/share/jupyter/kernels/rapaio-jupyter-kernel/kernel.json");
        JsonObject spec = JsonParser.parseString(Files.readString(installed)).getAsJsonObject();
        JsonObject env = spec.getAsJsonObject("env");
        assertEquals("", env.get("RJK_CLASSPATH").getAsString(), "rapaio's installer writes RJK_CLASSPATH empty");
        env.addProperty("RJK_CLASSPATH", kernelExtJar().toString());
        env.addProperty("OMP_NUM_THREADS", "1");
        Path dir = Files.createDirectories(jupyter.prefix.resolve("share/jupyter/kernels").resolve(kernelName()));
        Files.writeString(dir.resolve("kernel.json"), spec.toString());
    }

    /** Jupyter's default: the notebook's own folder, where no {@code datasets/} is. */
    @Override
    protected Path workingDirectory() {
        return root.resolve("notebooks");
    }

    @Override
    protected boolean screenshots() {
        return false;
    }

    /** Copied from Maven Central into target/rapaio by this module's pom. */
    private static Path rapaioJar() throws IOException {
        return only(Path.of("target", "rapaio").toAbsolutePath(), "rapaio-jupyter-kernel-*.jar");
    }

    private Path kernelExtJar() throws IOException {
        return only(root.resolve("kernel-ext/target"), "blockdraft-kernel-ext-*[0-9T].jar");
    }

    private static Path only(Path dir, String glob) throws IOException {
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, glob)) {
            files.forEach(found::add);
        }
        if (found.size() != 1) {
            throw new AssertionError("expected one " + glob + " in " + dir + " (run mvn package first), found " + found);
        }
        return found.get(0);
    }
}
