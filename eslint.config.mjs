// ESLint 9 flat config. Type-aware rules (the Pulumi ones need type information to tell an
// Output from a string inside a template literal).
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/**", "bin/**", "plan/**", "policy/node_modules/**", "policy/bin/**", "**/*.js", "**/*.mjs"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        // The plugin's rules fire only when registered under this exact name and enabled explicitly.
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            "@typescript-eslint/no-floating-promises": "error",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
        },
    },
    {
        // Mock data and recorded engine payloads are untyped by nature.
        files: ["test/**/*.ts", "scripts/plan/mockEngine.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off" },
    },
);
