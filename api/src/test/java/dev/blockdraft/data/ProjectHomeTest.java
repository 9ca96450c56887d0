package dev.blockdraft.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ProjectHomeTest {

    @Test
    void theCheckoutIsTheNearestFolderAboveTheCodeHoldingTheEmbeddedTarget(@TempDir Path temp) throws Exception {
        Path checkout = temp.resolve("blockdraft");
        Files.createDirectories(checkout.resolve(ProjectHome.DEFAULT_TARGET));
        Files.writeString(checkout.resolve(ProjectHome.DEFAULT_TARGET).resolve("config.json"), "{}");
        Path jar = Files.createDirectories(checkout.resolve("kernel-ext/target/lib")).resolve("blockdraft-api.jar");
        Files.writeString(jar, "");

        assertEquals(Optional.of(checkout), ProjectHome.checkoutAbove(jar));
        assertEquals(Optional.of(checkout), ProjectHome.checkoutAbove(checkout.resolve("kernel-ext/target")));
        assertEquals(Optional.empty(), ProjectHome.checkoutAbove(temp), "no embedded target above");
    }

    @Test
    void theSystemPropertyWins(@TempDir Path temp) {
        String before = System.getProperty(DataFolder.HOME_PROPERTY);
        System.setProperty(DataFolder.HOME_PROPERTY, temp.toString());
        try {
            assertEquals(temp.toAbsolutePath().normalize(), ProjectHome.resolve());
        } finally {
            if (before == null) {
                System.clearProperty(DataFolder.HOME_PROPERTY);
            } else {
                System.setProperty(DataFolder.HOME_PROPERTY, before);
            }
        }
    }

    @Test
    void withoutThePropertyTheCodesCheckoutIsFoundFromAModuleFolder() {
        // Surefire runs in api/, which has no datasets/: the checkout is found from api/target/classes.
        String before = System.getProperty(DataFolder.HOME_PROPERTY);
        System.clearProperty(DataFolder.HOME_PROPERTY);
        try {
            Path home = ProjectHome.resolve();
            assertEquals(true, Files.isRegularFile(home.resolve(ProjectHome.DEFAULT_TARGET).resolve("config.json")), home.toString());
        } finally {
            if (before != null) {
                System.setProperty(DataFolder.HOME_PROPERTY, before);
            }
        }
    }
}
