package dev.blockdraft.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataFolderTest {

    @TempDir
    Path temp;

    private Path dataAt(String relative) throws IOException {
        Path folder = temp.resolve(relative);
        Files.createDirectories(folder.resolve("benchmarks"));
        return folder;
    }

    @Test
    void explicitFolderWinsOverEnvironmentAndHome() throws IOException {
        Path explicit = dataAt("explicit");
        Path fromEnv = dataAt("env");
        Path home = temp.resolve("project");
        dataAt("shared/datasets");
        DataFolder folder = DataFolder.resolve(explicit, Map.of(DataFolder.ENV_VARIABLE, fromEnv.toString())::get, home);
        assertEquals(explicit.toAbsolutePath().normalize(), folder.root());
    }

    @Test
    void environmentWinsOverProjectHome() throws IOException {
        Path fromEnv = dataAt("env");
        dataAt("shared/datasets");
        DataFolder folder = DataFolder.resolve(null, Map.of(DataFolder.ENV_VARIABLE, fromEnv.toString())::get, temp.resolve("project"));
        assertEquals(fromEnv.toAbsolutePath().normalize(), folder.root());
    }

    @Test
    void siblingSharedDatasetsBeatsHomeDatasets() throws IOException {
        Path shared = dataAt("shared/datasets");
        dataAt("project/datasets");
        DataFolder folder = DataFolder.resolve(null, name -> null, temp.resolve("project"));
        assertEquals(shared.toAbsolutePath().normalize(), folder.root());
    }

    @Test
    void homeDatasetsIsTheLastResort() throws IOException {
        Path inHome = dataAt("project/datasets");
        DataFolder folder = DataFolder.resolve(null, name -> null, temp.resolve("project"));
        assertEquals(inHome.toAbsolutePath().normalize(), folder.root());
    }

    @Test
    void moduleFolderLooksBesideItsParentProject() throws IOException {
        Path shared = dataAt("shared/datasets");
        Path module = temp.resolve("project/api");
        Files.createDirectories(module);
        Files.writeString(temp.resolve("project/pom.xml"), "<project/>");
        Files.writeString(module.resolve("pom.xml"), "<project/>");
        assertEquals(shared.toAbsolutePath().normalize(), DataFolder.resolve(null, name -> null, module).root());
    }

    @Test
    void folderWithoutCorporaOrBenchmarksDoesNotCount() throws IOException {
        Files.createDirectories(temp.resolve("env/other"));
        Path home = dataAt("project/datasets").getParent();
        DataFolder folder = DataFolder.resolve(null, Map.of(DataFolder.ENV_VARIABLE, temp.resolve("env").toString())::get, home);
        assertEquals(home.resolve("datasets").toAbsolutePath().normalize(), folder.root());
    }

    @Test
    void nothingFoundListsEveryPlaceLooked() {
        Path home = temp.resolve("project");
        DataException error = assertThrows(DataException.class,
                () -> DataFolder.resolve(null, Map.of(DataFolder.ENV_VARIABLE, "/nonexistent/env-data")::get, home));
        String message = error.getMessage();
        assertTrue(message.contains("/nonexistent/env-data ($BLOCKDRAFT_DATA)"), message);
        assertTrue(message.contains(temp.resolve("shared/datasets").toAbsolutePath().normalize().toString()), message);
        assertTrue(message.contains(home.resolve("datasets").toAbsolutePath().normalize().toString()), message);
        assertEquals(1, message.lines().count());
    }

    @Test
    void missingExplicitFolderIsAnErrorEvenWhenOthersExist() throws IOException {
        dataAt("shared/datasets");
        Path missing = temp.resolve("typo");
        DataException error = assertThrows(DataException.class,
                () -> DataFolder.resolve(missing, name -> null, temp.resolve("project")));
        assertEquals("data folder " + missing.toAbsolutePath() + " (given with --data) does not exist", error.getMessage());
    }

    @Test
    void pathsOfCorporaAndBenchmarks() throws IOException {
        DataFolder folder = DataFolder.resolve(dataAt("d"));
        assertEquals(folder.root().resolve("corpora/gsm8k_train.jsonl"), folder.corpus("gsm8k_train"));
        assertEquals(folder.root().resolve("corpora/gsm8k_train.jsonl"), folder.corpus("gsm8k_train.jsonl"));
        assertEquals(folder.root().resolve("benchmarks/mt_bench.jsonl"), folder.benchmark(Benchmark.MT_BENCH));
    }

    @Test
    void realDataIsFoundFromTheModuleFolderWithoutArguments() {
        // surefire runs in api/, so the default list must reach ../../shared/datasets
        String savedHome = System.getProperty(DataFolder.HOME_PROPERTY);
        System.clearProperty(DataFolder.HOME_PROPERTY);
        try {
            DataFolder folder = DataFolder.resolve(null, name -> null, Path.of(""));
            assertEquals(TestDataFolder.find().root(), folder.root());
        } finally {
            if (savedHome != null) {
                System.setProperty(DataFolder.HOME_PROPERTY, savedHome);
            }
        }
    }
}
