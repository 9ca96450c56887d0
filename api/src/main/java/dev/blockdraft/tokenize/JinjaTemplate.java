package dev.blockdraft.tokenize;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.beans.FeatureDescriptor;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * A Hugging Face chat template (Python Jinja2, as {@code transformers} renders it) rendered with
 * HubSpot's Jinjava. Jinjava differs from Jinja2 in ways chat templates rely on; they are
 * closed here: Python string methods ({@code startswith}, {@code split}, {@code strip}, ...) are
 * resolved on strings, {@code xs[::-1]} becomes {@code xs|reverse}, {@code namespace(k=a - 1)}
 * keyword values are parenthesised (Jinjava binds {@code =} tighter than arithmetic), and
 * {@code strftime_now is defined} (Llama 3.1) is true, as {@code transformers} defines it. Like
 * {@code transformers}, blocks are rendered with {@code trim_blocks} and {@code lstrip_blocks}.
 */
final class JinjaTemplate {

    private static final Pattern REVERSED = Pattern.compile("([A-Za-z_][A-Za-z0-9_.]*)\\[::-1\\]");
    private static final Pattern STRFTIME_DEFINED = Pattern.compile("strftime_now\\s+is\\s+defined");

    private final String text;
    private final String where;
    private final Jinjava jinjava;

    JinjaTemplate(String text, String where) {
        this.text = rewrite(text);
        this.where = where;
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStrings());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withElResolver(resolver)
                // message texts are data: code with "{{ x }}" must not be rendered again (Jinjava's default)
                .withNestedInterpretationEnabled(false)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .build();
        this.jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", JinjaTemplate.class,
                "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now", JinjaTemplate.class,
                "strftimeNow", String.class));
    }

    /** Renders with the given variables; a template error fails naming the template's file and line. */
    String render(Map<String, Object> variables) {
        RenderResult result;
        try {
            result = jinjava.renderForResult(text, variables);
        } catch (TemplateRaised e) {
            throw new TokenizerException(where + ": the chat template refused the conversation: " + e.getMessage());
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                if (error.getException() instanceof TemplateRaised raised || causedBy(error) instanceof TemplateRaised) {
                    throw new TokenizerException(where + ": the chat template refused the conversation: "
                            + causedBy(error).getMessage());
                }
                throw new TokenizerException(where + ": chat template line " + error.getLineno() + ": " + error.getMessage());
            }
        }
        return result.getOutput();
    }

    private static Throwable causedBy(TemplateError error) {
        Throwable t = error.getException();
        while (t != null && !(t instanceof TemplateRaised) && t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == null ? new RuntimeException(error.getMessage()) : t;
    }

    /** The source rewrites described in the class comment. */
    static String rewrite(String template) {
        String out = REVERSED.matcher(template).replaceAll("($1|reverse)");
        // transformers defines strftime_now as a global; here it is a function, which "is defined" does not see
        out = STRFTIME_DEFINED.matcher(out).replaceAll("true");
        StringBuilder b = new StringBuilder();
        int from = 0;
        Matcher m = Pattern.compile("namespace\\(").matcher(out);
        while (m.find(from)) {
            int open = m.end();
            int close = matchingParen(out, open);
            if (close < 0) {
                break;
            }
            b.append(out, from, open).append(parenthesiseKeywordValues(out.substring(open, close)));
            from = close;
        }
        return b.append(out.substring(from)).toString();
    }

    private static int matchingParen(String s, int from) {
        int depth = 1;
        char quote = 0;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == quote && s.charAt(i - 1) != '\\') {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (--depth == 0) {
                    return i;
                }
            }
        }
        return -1;
    }

    /** {@code a=x - 1, b=true} → {@code a=(x - 1), b=(true)}, splitting at top-level commas. */
    private static String parenthesiseKeywordValues(String args) {
        List<String> parts = new ArrayList<>();
        int depth = 0, start = 0;
        char quote = 0;
        for (int i = 0; i < args.length(); i++) {
            char c = args.charAt(i);
            if (quote != 0) {
                if (c == quote && args.charAt(i - 1) != '\\') {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == ',' && depth == 0) {
                parts.add(args.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(args.substring(start));
        List<String> out = new ArrayList<>();
        Pattern keyword = Pattern.compile("^(\\s*[A-Za-z_][A-Za-z0-9_]*\\s*)=(?!=)(.*)$", Pattern.DOTALL);
        for (String part : parts) {
            Matcher m = keyword.matcher(part);
            out.add(m.matches() ? m.group(1) + "=(" + m.group(2).trim() + ")" : part);
        }
        return String.join(",", out);
    }

    /** {@code raise_exception(message)}, which templates call to reject a conversation. */
    public static String raiseException(String message) {
        throw new TemplateRaised(message);
    }

    /** {@code strftime_now(format)} for the directives chat templates use (Llama 3.1: "%d %b %Y"). */
    public static String strftimeNow(String format) {
        ZonedDateTime now = ZonedDateTime.now();
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                b.append(c);
                continue;
            }
            char d = format.charAt(++i);
            String pattern = switch (d) {
                case 'd' -> "dd";
                case 'b' -> "MMM";
                case 'B' -> "MMMM";
                case 'Y' -> "yyyy";
                case 'm' -> "MM";
                case 'y' -> "yy";
                case 'H' -> "HH";
                case 'M' -> "mm";
                case 'S' -> "ss";
                case 'A' -> "EEEE";
                case 'a' -> "EEE";
                default -> null;
            };
            b.append(pattern == null ? "%" + d : now.format(DateTimeFormatter.ofPattern(pattern, Locale.ENGLISH)));
        }
        return b.toString();
    }

    private static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) {
            super(message);
        }
    }

    /** Python's str methods that chat templates call, resolved before Jinjava's Java-method lookup. */
    static final class PythonStrings extends ELResolver {
        @Override
        public Object invoke(ELContext context, Object base, Object method, Class<?>[] types, Object[] params) {
            if (!(base instanceof String s) || method == null) {
                return null;
            }
            Object[] p = params == null ? new Object[0] : params;
            Object result = switch (method.toString()) {
                case "startswith" -> s.startsWith(arg(p, 0));
                case "endswith" -> s.endsWith(arg(p, 0));
                case "strip" -> strip(strip(s, p, true), p, false);
                case "lstrip" -> strip(s, p, true);
                case "rstrip" -> strip(s, p, false);
                case "split" -> split(s, p);
                case "upper" -> s.toUpperCase(Locale.ROOT);
                case "lower" -> s.toLowerCase(Locale.ROOT);
                case "title" -> title(s);
                case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
                case "replace" -> s.replace(arg(p, 0), arg(p, 1));
                case "find" -> (long) s.indexOf(arg(p, 0));
                case "count" -> (long) count(s, arg(p, 0));
                default -> null;
            };
            if (result != null) {
                context.setPropertyResolved(true);
            }
            return result;
        }

        private static String arg(Object[] p, int i) {
            return i < p.length && p[i] != null ? p[i].toString() : "";
        }

        private static String strip(String s, Object[] p, boolean left) {
            String chars = p.length == 0 || p[0] == null ? null : p[0].toString();
            int a = 0, b = s.length();
            if (left) {
                while (a < b && stripped(s.charAt(a), chars)) {
                    a++;
                }
            } else {
                while (b > a && stripped(s.charAt(b - 1), chars)) {
                    b--;
                }
            }
            return s.substring(a, b);
        }

        private static boolean stripped(char c, String chars) {
            return chars == null ? Character.isWhitespace(c) : chars.indexOf(c) >= 0;
        }

        /** Python's split: on a literal separator (all of it kept), or on runs of whitespace without one. */
        private static List<String> split(String s, Object[] p) {
            List<String> out = new ArrayList<>();
            if (p.length == 0 || p[0] == null) {
                for (String part : s.trim().split("\\s+")) {
                    if (!part.isEmpty()) {
                        out.add(part);
                    }
                }
                return out;
            }
            String sep = p[0].toString();
            int i = 0;
            while (true) {
                int j = s.indexOf(sep, i);
                if (j < 0 || sep.isEmpty()) {
                    out.add(s.substring(i));
                    return out;
                }
                out.add(s.substring(i, j));
                i = j + sep.length();
            }
        }

        private static String title(String s) {
            StringBuilder b = new StringBuilder(s.length());
            boolean start = true;
            for (char c : s.toCharArray()) {
                b.append(start ? Character.toUpperCase(c) : Character.toLowerCase(c));
                start = !Character.isLetter(c);
            }
            return b.toString();
        }

        private static int count(String s, String sub) {
            if (sub.isEmpty()) {
                return s.length() + 1;
            }
            int n = 0;
            for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) {
                n++;
            }
            return n;
        }

        @Override
        public Object getValue(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public Class<?> getType(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public void setValue(ELContext context, Object base, Object property, Object value) {}

        @Override
        public boolean isReadOnly(ELContext context, Object base, Object property) {
            return true;
        }

        @Override
        public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
            return null;
        }

        @Override
        public Class<?> getCommonPropertyType(ELContext context, Object base) {
            return null;
        }
    }
}
