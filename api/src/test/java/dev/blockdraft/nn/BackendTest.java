package dev.blockdraft.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.blockdraft.io.Provenance;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The backend is resolved once from the settings, carried by the model, and named in provenance. */
class BackendTest {

    @Test
    void settingsResolveToOneBackend() {
        Device cpu = Device.cpu();
        assertEquals(Backend.Mode.EAGER, Backend.of(cpu, "auto", "").mode(), "CPUs stay eager by default");
        assertEquals(Backend.Mode.EAGER, Backend.of(cpu, "off", "rms_norm").mode());
        assertEquals(Backend.Mode.EAGER, Backend.of(Device.gpu(), "off", "").mode());
        Backend fused = Backend.of(cpu, "on", " rms_norm,swiglu ");
        assertEquals(Backend.Mode.FUSED, fused.mode());
        assertEquals(Set.of(Backend.Op.RMS_NORM, Backend.Op.SWIGLU), fused.skipped());
        assertFalse(fused.fuses(Backend.Op.RMS_NORM));
        assertTrue(fused.fuses(Backend.Op.ATTENTION));
        assertTrue(fused.kernels(Backend.Op.SWIGLU).isEmpty());
        assertEquals("fused (eager: rms_norm, swiglu)", fused.toString());
        assertEquals("fused", Backend.of(cpu, "on", "").toString());
        assertEquals("eager", Backend.eager(cpu).skipping(Backend.Op.ADAMW).toString());
        assertEquals(fused, Backend.fused(cpu).skipping(Backend.Op.SWIGLU, Backend.Op.RMS_NORM));
    }

    @Test
    void badSettingsNameThePropertyAndTheValidValues() {
        IllegalArgumentException mode = assertThrows(IllegalArgumentException.class,
                () -> Backend.of(Device.cpu(), "fast", ""));
        assertEquals("-Dblockdraft.fusedOps=fast must be auto, on or off", mode.getMessage());
        IllegalArgumentException skip = assertThrows(IllegalArgumentException.class,
                () -> Backend.of(Device.cpu(), "off", "rms_norm,rmsnorm"));
        assertEquals("-Dblockdraft.fusedOps.skip=rms_norm,rmsnorm: 'rmsnorm' is not a fused op; valid: attention, "
                + "rms_norm, swiglu, decoder_layer, drafter_layer, frozen_forward, drafter_block, adamw", skip.getMessage());
    }

    @Test
    void aModelKeepsItsBackendAndProvenanceNamesIt() {
        try (LlamaModel model = LlamaModel.initialize(LlamaConfig.llama(20, 16, 24, 1, 2, 1, 16),
                Backend.fused(Device.cpu()).skipping(Backend.Op.DECODER_LAYER), 1)) {
            assertEquals("fused (eager: decoder_layer)", model.backend().toString());
            try (LlamaModel half = model.halfPrecisionCopy()) {
                assertEquals(model.backend(), half.backend());
            }
            assertEquals(Backend.eager(Device.cpu()), model.withBackend(Backend.eager(Device.cpu())).backend());
            Provenance p = Provenance.capture("test", model.backend(), 0, Map.of(), Map.of(), Map.of());
            assertEquals("cpu()", p.device());
            assertEquals("fused (eager: decoder_layer)", p.backend());
            assertTrue(p.toJson().contains("\"backend\": \"fused (eager: decoder_layer)\""), p.toJson());
        }
        // without a model at hand: what models on that device get under the current settings
        String expected = Backend.forDevice(Device.cpu()).toString();
        assertEquals(expected, Provenance.capture("test", "cpu()", 0, Map.of(), Map.of(), Map.of()).backend());
    }
}
