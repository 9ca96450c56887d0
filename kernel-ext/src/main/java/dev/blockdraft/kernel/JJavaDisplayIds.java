package dev.blockdraft.kernel;

import org.dflib.jjava.jupyter.kernel.display.DisplayData;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;

/**
 * {@code DisplayData.setDisplayId(String)} of whichever jjava-jupyter the kernel runs: it returns {@code void} in
 * 1.0-a6 (what blockdraft compiles against) and {@code DisplayData} in 1.0-a7, so a call linked at compile time
 * fails with {@code NoSuchMethodError} in one of them. The method is looked up at run time and its result dropped.
 */
final class JJavaDisplayIds {

    private static final MethodHandle SET_DISPLAY_ID = setter(DisplayData.class);

    private JJavaDisplayIds() {
    }

    /** Gives {@code data} the display id {@code id}. */
    static void set(DisplayData data, String id) {
        try {
            SET_DISPLAY_ID.invokeExact((Object) data, id);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("DisplayData.setDisplayId failed", e);
        }
    }

    /** {@code type}'s public {@code setDisplayId(String)}, whatever it returns, as {@code (Object, String) -> void}. */
    static MethodHandle setter(Class<?> type) {
        for (Method method : type.getMethods()) {
            if (method.getName().equals("setDisplayId") && method.getParameterCount() == 1
                    && method.getParameterTypes()[0] == String.class) {
                try {
                    return MethodHandles.publicLookup().unreflect(method)
                            .asType(MethodType.methodType(void.class, Object.class, String.class));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException("cannot call " + method, e);
                }
            }
        }
        throw new IllegalStateException(type.getName() + " (from " + type.getProtectionDomain().getCodeSource()
                + ") has no public setDisplayId(String): a jjava-jupyter version blockdraft does not know");
    }
}
