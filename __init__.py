"""ComfyUI entry point for installs that place this whole repository in `custom_nodes/`
(the Comfy registry, or a git clone there). It only re-exports the node pack in
`comfy_nodes/`, which `lrtool comfy install` links on its own.
"""

# pytest imports this file on its own, without a package, when the clone's folder name is not a
# Python name (e.g. "lrtool-main"); only ComfyUI's import, as a package, needs the nodes.
if __package__:
    from .comfy_nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

#: Browser code that shows each node's summary, relative to this folder.
WEB_DIRECTORY = "./comfy_nodes/web"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
