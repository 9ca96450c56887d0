package dev.blockdraft.eval;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs a test class with one PyTorch intra-op thread and restores the previous count afterwards.
 * The tiny models here gain nothing from threads, and on shared, busy cores OpenMP workers that
 * spin at barriers while their partner is descheduled made the greedy exactness test ~50× slower
 * (6 minutes instead of 7 seconds).
 */
public final class OneTorchThread implements BeforeAllCallback, AfterAllCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(OneTorchThread.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        Engine.getEngine("PyTorch"); // loads the native library
        context.getStore(NS).put("threads", JniUtils.getNumThreads());
        JniUtils.setNumThreads(1);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        Integer previous = context.getStore(NS).get("threads", Integer.class);
        if (previous != null) {
            JniUtils.setNumThreads(previous);
        }
    }
}
