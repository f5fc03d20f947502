// The CodeMirror 6 parts the SQL page uses, bundled by esbuild into one
// IIFE that exposes them as the global CM (see vendor.sh).
export {EditorView, basicSetup} from "codemirror";
export {keymap} from "@codemirror/view";
export {sql, SQLite} from "@codemirror/lang-sql";
export {Prec} from "@codemirror/state";
