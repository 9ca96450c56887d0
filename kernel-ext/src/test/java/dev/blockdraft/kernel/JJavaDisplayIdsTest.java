package dev.blockdraft.kernel;

import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link JJavaDisplayIds} against both shapes of {@code DisplayData.setDisplayId}: the jjava-jupyter 1.0-a6 on the
 * test classpath ({@code void}), and a 1.0-a7-shaped {@code DisplayData} (returning {@code DisplayData}) compiled
 * here and loaded, with the compiled {@code JJavaDisplayIds} class, in a class loader of their own.
 */
class JJavaDisplayIdsTest {

    private static final String DISPLAY_DATA = "org.dflib.jjava.jupyter.kernel.display.DisplayData";

    /** The 1.0-a7 signature, with the body of jjava-jupyter's. */
    private static final String A7_DISPLAY_DATA = String.join("\n",
            "package org.dflib.jjava.jupyter.kernel.display;",
            "public class DisplayData {",
            "    private String displayId;",
            "    public DisplayData setDisplayId(String id) { this.displayId = id; return this; }",
            "    public boolean hasDisplayId() { return displayId != null; }",
            "    public String getDisplayId() { return displayId; }",
            "}");

    /** What code compiled against 1.0-a6 does when it calls the method directly. */
    private static final String DIRECT_CALLER = String.join("\n",
            "package dev.blockdraft.kernel;",
            "public class DirectCaller {",
            "    public static void set(org.dflib.jjava.jupyter.kernel.display.DisplayData data, String id) {",
            "        data.setDisplayId(id);",
            "    }",
            "}");

    @Test
    void setsTheIdWithTheA6VoidSignature() {
        DisplayData data = new DisplayData();
        JJavaDisplayIds.set(data, "blockdraft-1");
        assertEquals("blockdraft-1", data.getDisplayId());
        assertEquals(void.class, setDisplayIdReturnType(DisplayData.class));
    }

    @Test
    void setsTheIdWithTheA7SignatureWhereADirectCallFails(@TempDir Path temp) throws Exception {
        Path a7 = Files.createDirectories(temp.resolve("a7"));
        compile(temp.resolve("a7-src"), a7, "org/dflib/jjava/jupyter/kernel/display/DisplayData.java", A7_DISPLAY_DATA, null);
        // Compiled against the real 1.0-a6 on the test classpath, as the extension would be without the method handle.
        Path direct = Files.createDirectories(temp.resolve("direct"));
        compile(temp.resolve("direct-src"), direct, "dev/blockdraft/kernel/DirectCaller.java", DIRECT_CALLER,
                System.getProperty("java.class.path"));

        Path mainClasses = Path.of(JJavaDisplayIds.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        try (URLClassLoader loader = new ChildFirst(new URL[] {a7.toUri().toURL(), direct.toUri().toURL(),
                mainClasses.toUri().toURL()}, Set.of(DISPLAY_DATA, JJavaDisplayIds.class.getName(), "dev.blockdraft.kernel.DirectCaller"))) {
            Class<?> displayData = loader.loadClass(DISPLAY_DATA);
            assertEquals(displayData, setDisplayIdReturnType(displayData), "the stub has the 1.0-a7 shape");
            Object data = displayData.getConstructor().newInstance();

            Method directSet = loader.loadClass("dev.blockdraft.kernel.DirectCaller").getMethod("set", displayData, String.class);
            InvocationTargetException linkFailure = assertThrows(InvocationTargetException.class,
                    () -> directSet.invoke(null, data, "x"));
            assertInstanceOf(NoSuchMethodError.class, linkFailure.getCause(), "a direct call linked against a6 must fail");

            Class<?> ids = loader.loadClass(JJavaDisplayIds.class.getName());
            assertNotSame(JJavaDisplayIds.class, ids);
            Method set = ids.getDeclaredMethod("set", displayData, String.class);
            set.setAccessible(true);
            set.invoke(null, data, "blockdraft-2");
            assertEquals("blockdraft-2", displayData.getMethod("getDisplayId").invoke(data));
        }
    }

    private static Class<?> setDisplayIdReturnType(Class<?> displayData) {
        try {
            return displayData.getMethod("setDisplayId", String.class).getReturnType();
        } catch (NoSuchMethodException e) {
            throw new AssertionError(e);
        }
    }

    private static void compile(Path sourceRoot, Path out, String file, String source, String classpath) throws IOException {
        Path sourceFile = sourceRoot.resolve(file);
        Files.createDirectories(sourceFile.getParent());
        Files.writeString(sourceFile, source);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        int status = classpath == null
                ? javac.run(null, null, errors, "-d", out.toString(), sourceFile.toString())
                : javac.run(null, null, errors, "-cp", classpath, "-d", out.toString(), sourceFile.toString());
        assertEquals(0, status, errors.toString());
    }

    /** Loads the named classes from its own URLs, everything else from the parent. */
    private static final class ChildFirst extends URLClassLoader {
        private final Set<String> own;

        ChildFirst(URL[] urls, Set<String> own) {
            super(urls, JJavaDisplayIdsTest.class.getClassLoader());
            this.own = own;
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            synchronized (getClassLoadingLock(name)) {
                if (!own.contains(name)) {
                    return super.loadClass(name, resolve);
                }
                Class<?> loaded = findLoadedClass(name);
                return loaded != null ? loaded : findClass(name);
            }
        }
    }
}
