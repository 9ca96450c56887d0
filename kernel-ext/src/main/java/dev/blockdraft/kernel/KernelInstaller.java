package dev.blockdraft.kernel;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Installs the Jupyter kernelspec for {@link BlockdraftKernel}.
 *
 * <pre>
 * java -cp CLASSPATH dev.blockdraft.kernel.KernelInstaller install [--prefix DIR] [--name NAME] [--classpath CP]
 * </pre>
 *
 * The kernel's classpath is {@code --classpath}, else the system property {@code blockdraft.classpath},
 * else this JVM's own {@code java.class.path} (a launcher that runs the installer with the full
 * blockdraft classpath needs to pass nothing). Entries are made absolute. With {@code --prefix} the
 * spec goes to {@code DIR/share/jupyter/kernels/NAME} (like {@code jupyter kernelspec install --prefix}),
 * else to {@code $JUPYTER_DATA_DIR/kernels/NAME} or {@code ~/.local/share/jupyter/kernels/NAME}.
 */
public final class KernelInstaller {

    public static final String DEFAULT_NAME = "blockdraft";
    public static final String DISPLAY_NAME = "Java (blockdraft)";
    public static final String CLASSPATH_PROPERTY = "blockdraft.classpath";

    /** What to install where: a value, printed by {@code toString()} for a dry look in JShell. */
    public record Installation(Path kernelDir, String name, List<String> argv) {
        public Installation {
            argv = List.copyOf(argv);
        }
    }

    private KernelInstaller() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 0 || !args[0].equals("install")) {
            System.err.println("usage: KernelInstaller install [--prefix DIR] [--name NAME] [--classpath CP]");
            System.exit(2);
        }
        Optional<Path> prefix = Optional.empty();
        String name = DEFAULT_NAME;
        String classpath = System.getProperty(CLASSPATH_PROPERTY, System.getProperty("java.class.path"));
        for (int i = 1; i < args.length; i++) {
            String option = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("missing value after " + option);
            }
            String value = args[++i];
            switch (option) {
                case "--prefix": prefix = Optional.of(Path.of(value)); break;
                case "--name": name = value; break;
                case "--classpath": classpath = value; break;
                default: throw new IllegalArgumentException("unknown option " + option);
            }
        }
        Installation installation = plan(prefix, name, classpath, System.getenv());
        install(installation);
        System.out.println("installed kernel '" + name + "' in " + installation.kernelDir());
    }

    /** Where the kernelspec goes and the command Jupyter will run. */
    public static Installation plan(Optional<Path> prefix, String name, String classpath, Map<String, String> env) {
        if (!name.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("kernel names are letters, digits, '.', '_' and '-': " + name);
        }
        Path kernels = prefix.map(p -> p.resolve("share/jupyter/kernels"))
                .orElseGet(() -> Optional.ofNullable(env.get("JUPYTER_DATA_DIR")).filter(s -> !s.isBlank())
                        .map(Path::of)
                        .orElseGet(() -> Path.of(System.getProperty("user.home"), ".local/share/jupyter"))
                        .resolve("kernels"));
        List<String> argv = new ArrayList<>();
        argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        argv.add("-cp");
        argv.add(absoluteClasspath(classpath));
        argv.add("-Dai.djl.offline=true");
        // Notebooks open in their own folder: the project home tells blockdraft where the default target and data are.
        String home = System.getProperty("blockdraft.home");
        if (home != null) {
            argv.add("-Dblockdraft.home=" + Path.of(home).toAbsolutePath().normalize());
        }
        argv.add("-Dai.djl.pytorch.num_threads=1"); // small models; OpenMP spin-waits hurt on shared cores
        argv.add(BlockdraftKernel.class.getName());
        argv.add("{connection_file}");
        return new Installation(kernels.resolve(name).toAbsolutePath(), name, argv);
    }

    static String absoluteClasspath(String classpath) {
        return Arrays.stream(classpath.split(File.pathSeparator))
                .filter(entry -> !entry.isBlank())
                .map(entry -> Path.of(entry).toAbsolutePath().normalize().toString())
                .distinct()
                .collect(Collectors.joining(File.pathSeparator));
    }

    /** Writes {@code kernel.json}, replacing an earlier installation of the same name. */
    public static Path install(Installation installation) throws IOException {
        JsonObject spec = new JsonObject();
        JsonArray argv = new JsonArray();
        installation.argv().forEach(argv::add);
        spec.add("argv", argv);
        spec.addProperty("display_name", DISPLAY_NAME);
        spec.addProperty("language", "java");
        // Interrupts come as messages: the JVM must not be signalled, it would die on SIGINT.
        spec.addProperty("interrupt_mode", "message");
        Files.createDirectories(installation.kernelDir());
        Path kernelJson = installation.kernelDir().resolve("kernel.json");
        Path temp = Files.createTempFile(installation.kernelDir(), ".kernel", ".json");
        Files.writeString(temp, new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(spec),
                StandardCharsets.UTF_8);
        Files.move(temp, kernelJson, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return kernelJson;
    }
}
