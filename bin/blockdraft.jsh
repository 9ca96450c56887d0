// JShell startup for `bin/blockdraft shell`: blockdraft's packages, ready to use.
import ai.djl.Device;
import dev.blockdraft.*;
import dev.blockdraft.lm.*;
import dev.blockdraft.tokenize.*;
import dev.blockdraft.data.*;
import dev.blockdraft.draft.*;
import dev.blockdraft.train.*;
import dev.blockdraft.train.objective.*;
import dev.blockdraft.spec.*;
import dev.blockdraft.eval.*;
import dev.blockdraft.grid.*;
import dev.blockdraft.report.*;
System.setProperty("ai.djl.offline", "true");
System.out.println("blockdraft: try  var target = Target.load(Workflows.defaultTargetFolder(), Device.cpu())");
