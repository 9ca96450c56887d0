package dev.blockdraft.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.blockdraft.io.BadInputException;
import dev.blockdraft.io.JsonFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@code --config FILE} for the commands that take one: a JSON object whose keys are the command's
 * own flags without their dashes ({@code {"steps": 3000, "objective": "paper", "half-target": true}}),
 * turned into those flags before picocli parses the line, so a file goes through exactly the checks
 * a flag does. A flag given on the command line wins over the file; a key that is no flag of the
 * command is an error naming the key and the file. Lists become repeated flags (or one
 * comma-joined value for options that split on commas); {@code true} sets a switch, {@code false}
 * leaves it unset.
 */
final class ConfigFile {
    /** The commands that take {@code --config}. */
    static final List<String> COMMANDS = List.of("train-drafter", "regenerate", "eval");

    private ConfigFile() {}

    /** {@code --config FILE}, documented in each command's help (the file's flags are added before parsing). */
    static final class Option {
        @CommandLine.Option(names = "--config", paramLabel = "FILE",
                description = "a JSON object of this command's flags without dashes, e.g. {\"steps\": 3000}; flags on the"
                        + " command line win; an unknown key is an error")
        Path file;
    }

    /** The command line with the config file's flags added (those not already on it); unchanged without {@code --config}. */
    static String[] expand(CommandLine root, String[] args) {
        if (args.length == 0 || !COMMANDS.contains(args[0])) {
            return args;
        }
        Path file = null;
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                file = Path.of(args[i + 1]);
            } else if (args[i].startsWith("--config=")) {
                file = Path.of(args[i].substring("--config=".length()));
            }
        }
        if (file == null) {
            return args;
        }
        CommandSpec spec = root.getSubcommands().get(args[0]).getCommandSpec();
        JsonObject config = JsonFiles.readObject(file);
        List<String> out = new ArrayList<>(List.of(args));
        for (Map.Entry<String, JsonElement> e : config.entrySet()) {
            String key = e.getKey();
            OptionSpec option = spec.findOption("--" + key);
            if (option == null || key.equals("config") || option.usageHelp() || option.versionHelp()) {
                TreeSet<String> valid = new TreeSet<>();
                for (OptionSpec o : spec.options()) {
                    if (o.longestName().startsWith("--") && !o.usageHelp() && !o.versionHelp()
                            && !o.longestName().equals("--config")) {
                        valid.add(o.longestName().substring(2));
                    }
                }
                throw BadInputException.of(file, "unknown key '" + key + "' for " + args[0] + "; valid keys: "
                        + String.join(", ", valid));
            }
            if (given(args, option)) {
                continue; // the command line wins
            }
            out.addAll(flags(file, key, option, e.getValue()));
        }
        return out.toArray(new String[0]);
    }

    private static boolean given(String[] args, OptionSpec option) {
        for (int i = 1; i < args.length; i++) {
            for (String name : option.names()) {
                if (args[i].equals(name) || args[i].startsWith(name + "=")) {
                    return true;
                }
            }
        }
        return false;
    }

    private static List<String> flags(Path file, String key, OptionSpec option, JsonElement value) {
        String flag = "--" + key;
        boolean isSwitch = option.arity().max() == 0;
        if (isSwitch) {
            if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isBoolean()) {
                throw BadInputException.of(file, "'" + key + "' is a switch: give true or false, not " + value);
            }
            return value.getAsBoolean() ? List.of(flag) : List.of();
        }
        List<String> values = new ArrayList<>();
        if (value.isJsonArray()) {
            for (JsonElement v : (JsonArray) value) {
                values.add(scalar(file, key, v));
            }
        } else {
            values.add(scalar(file, key, value));
        }
        if (values.size() > 1 && !option.isMultiValue()) {
            throw BadInputException.of(file, "'" + key + "' takes one value, not a list");
        }
        List<String> out = new ArrayList<>();
        if (!option.splitRegex().isEmpty() && values.size() > 1) {
            out.add(flag);
            out.add(String.join(",", values));
        } else {
            for (String v : values) {
                out.add(flag);
                out.add(v);
            }
        }
        return out;
    }

    private static String scalar(Path file, String key, JsonElement v) {
        if (!v.isJsonPrimitive()) {
            throw BadInputException.of(file, "'" + key + "' must be a string, number or boolean, not " + v);
        }
        return v.getAsString();
    }
}
