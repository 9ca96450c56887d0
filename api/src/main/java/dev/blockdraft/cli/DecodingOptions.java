package dev.blockdraft.cli;

import dev.blockdraft.lm.Sampling;
import dev.blockdraft.spec.Decoding;
import picocli.CommandLine.Option;

/** The speculative decoding flags shared by {@code eval}, {@code bench decode} and {@code verify-exactness}. */
final class DecodingOptions {
    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T",
            description = "sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1.0", paramLabel = "P", description = "nucleus mass (default: ${DEFAULT-VALUE})")
    double topP;

    @Option(names = "--top-k", defaultValue = "0", paramLabel = "K", description = "keep the K most probable tokens; 0 = all (default)")
    int topK;

    @Option(names = "--drafts", defaultValue = "1", paramLabel = "K",
            description = "candidate blocks per step, verified in one target pass (default: ${DEFAULT-VALUE})")
    int drafts;

    @Option(names = "--tree-nodes", defaultValue = "0", paramLabel = "N",
            description = "verify a best-first draft tree of N tokens instead of blocks; 0 = none (default)")
    int treeNodes;

    @Option(names = "--sampled-drafts",
            description = "draw every candidate from the drafter's slot distributions (default: the argmax block first)")
    boolean sampledDrafts;

    Decoding resolve(long seed) {
        return new Decoding(new Sampling(temperature, topP, topK), drafts, treeNodes, sampledDrafts, seed);
    }
}
