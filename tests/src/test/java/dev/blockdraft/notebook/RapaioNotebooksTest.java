package dev.blockdraft.notebook;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The project's notebooks in a stock rapaio-jupyter-kernel 3.0.1 (from Maven Central), set up as the README's
 * recipe says: rapaio's own kernelspec ({@code java -jar rapaio-jupyter-kernel-3.0.1.jar}) with
 * {@code RJK_CLASSPATH} naming the one kernel-ext jar, started in the notebook's folder with no blockdraft system
 * property. Same assertions as in blockdraft's kernel: real Plotly JSON, HTML tables, live updates.
 */
class RapaioNotebooksTest extends ProjectNotebooksTest {

    @Override
    protected String kernelName() {
        return "rapaio-project-test";
    }

    @Override
    protected void installKernel() throws IOException {
        List<String> argv = new ArrayList<>();
        argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        argv.add("-Dai.djl.pytorch.num_threads=1"); // small models; OpenMP spin-waits hurt on shared CI cores
        argv.add("-jar");
        argv.add(rapaioJar().toString());
        argv.add("{connection_file}");
        jupyter.installKernelSpec("Java (rapaio, blockdraft test)", argv,
                Map.of("RJK_CLASSPATH", kernelExtJar().toString(), "OMP_NUM_THREADS", "1"));
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
