// Entry point of the `uiwire demo` chat page (bundled by build.mjs into /assets/app.js + app.css).
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import "./styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("uiwire demo: no #root element");
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
