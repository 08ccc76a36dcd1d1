// Shows the summary an LRTool node returns ({"ui": {"text": [...]}}) in a read-only box on the node.
import { app } from "../../scripts/app.js";
import { ComfyWidgets } from "../../scripts/widgets.js";

const LRTOOL_NODES = new Set([
  "LRToolRecommendLR",
  "LRToolEvaluateLR",
  "LRToolLoadProfile",
  "LRToolSaveProfile",
  "LRToolRecordRun",
]);
const SUMMARY = "lrtool_summary";

function summaryWidget(node) {
  let widget = node.widgets?.find((w) => w.name === SUMMARY);
  if (!widget) {
    widget = ComfyWidgets["STRING"](node, SUMMARY, ["STRING", { multiline: true }], app).widget;
    widget.element.readOnly = true;
    widget.element.placeholder = "LRTool: queue the workflow to see the recommendation here";
    widget.serialize = false; // not saved with the workflow
    widget.options = { ...(widget.options ?? {}), serialize: false }; // not sent with the prompt
  }
  return widget;
}

app.registerExtension({
  name: "LRTool.Summary",
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (!LRTOOL_NODES.has(nodeData.name)) {
      return;
    }
    const onNodeCreated = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function () {
      const result = onNodeCreated?.apply(this, arguments);
      summaryWidget(this);
      return result;
    };
    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      onExecuted?.apply(this, arguments);
      const text = message?.text;
      summaryWidget(this).value = Array.isArray(text) ? text.join("\n") : String(text ?? "");
    };
  },
});
