"""Falco's load-result codes, their short titles, and the fixed message texts.

The texts are Falco's own (``falco_load_result.cpp``, ``rule_loading_messages.h``,
``rule_loader.cpp``) so that tools and people who know Falco's output recognise them.
"""

from __future__ import annotations

from typing import Final

# Errors -------------------------------------------------------------------------------

LOAD_ERR_FILE_READ: Final = "LOAD_ERR_FILE_READ"
LOAD_ERR_YAML_PARSE: Final = "LOAD_ERR_YAML_PARSE"
LOAD_ERR_YAML_VALIDATE: Final = "LOAD_ERR_YAML_VALIDATE"
LOAD_ERR_COMPILE_CONDITION: Final = "LOAD_ERR_COMPILE_CONDITION"
LOAD_ERR_COMPILE_OUTPUT: Final = "LOAD_ERR_COMPILE_OUTPUT"
LOAD_ERR_VALIDATE: Final = "LOAD_ERR_VALIDATE"
LOAD_ERR_EXTENSION: Final = "LOAD_ERR_EXTENSION"

ERROR_TITLES: Final[dict[str, str]] = {
    LOAD_ERR_FILE_READ: "File read error",
    LOAD_ERR_YAML_PARSE: "YAML parse error",
    LOAD_ERR_YAML_VALIDATE: "Error validating internal structure of YAML file",
    LOAD_ERR_COMPILE_CONDITION: "Error compiling condition",
    LOAD_ERR_COMPILE_OUTPUT: "Error compiling output",
    LOAD_ERR_VALIDATE: "Error validating rule/macro/list/exception objects",
    LOAD_ERR_EXTENSION: "Error in extension item",
}

# Warnings -----------------------------------------------------------------------------

LOAD_UNKNOWN_SOURCE: Final = "LOAD_UNKNOWN_SOURCE"
LOAD_UNSAFE_NA_CHECK: Final = "LOAD_UNSAFE_NA_CHECK"
LOAD_NO_EVTTYPE: Final = "LOAD_NO_EVTTYPE"
LOAD_UNKNOWN_FILTER: Final = "LOAD_UNKNOWN_FILTER"
LOAD_UNUSED_MACRO: Final = "LOAD_UNUSED_MACRO"
LOAD_UNUSED_LIST: Final = "LOAD_UNUSED_LIST"
LOAD_UNKNOWN_ITEM: Final = "LOAD_UNKNOWN_ITEM"
LOAD_DEPRECATED_ITEM: Final = "LOAD_DEPRECATED_ITEM"
LOAD_WARNING_EXTENSION: Final = "LOAD_WARNING_EXTENSION"
LOAD_APPEND_NO_VALUES: Final = "LOAD_APPEND_NO_VALUES"
LOAD_EXCEPTION_NAME_NOT_UNIQUE: Final = "LOAD_EXCEPTION_NAME_NOT_UNIQUE"
LOAD_INVALID_MACRO_NAME: Final = "LOAD_INVALID_MACRO_NAME"
LOAD_INVALID_LIST_NAME: Final = "LOAD_INVALID_LIST_NAME"
LOAD_COMPILE_CONDITION: Final = "LOAD_COMPILE_CONDITION"
LOAD_UNKNOWN_KEY: Final = "LOAD_UNKNOWN_KEY"

WARNING_TITLES: Final[dict[str, str]] = {
    LOAD_UNKNOWN_SOURCE: "Unknown event source",
    LOAD_UNSAFE_NA_CHECK: "Unsafe <NA> comparison in condition",
    LOAD_NO_EVTTYPE: "Condition has no event-type restriction",
    LOAD_UNKNOWN_FILTER: "Unknown field or event-type in condition or output",
    LOAD_UNUSED_MACRO: "Unused macro",
    LOAD_UNUSED_LIST: "Unused list",
    LOAD_UNKNOWN_ITEM: "Unknown rules file item",
    LOAD_DEPRECATED_ITEM: "Used deprecated item",
    LOAD_WARNING_EXTENSION: "Warning in extension item",
    LOAD_APPEND_NO_VALUES: "Overriding/appending with no values",
    LOAD_EXCEPTION_NAME_NOT_UNIQUE: "Multiple exceptions defined with the same name",
    LOAD_INVALID_MACRO_NAME: "Invalid macro name",
    LOAD_INVALID_LIST_NAME: "Invalid list name",
    LOAD_COMPILE_CONDITION: "Warning in rule condition",
    LOAD_UNKNOWN_KEY: "Unknown key in item definition",
}


def title(code: str) -> str:
    """The short description Falco prints in parentheses after a code."""
    return ERROR_TITLES.get(code) or WARNING_TITLES.get(code, "")


# Item types of a context location (rule_loader.cpp ``item_type_strings``) -----------------

VALUE_FOR: Final = "value for"
EXCEPTIONS: Final = "exceptions"
EXCEPTION: Final = "exception"
EXCEPTION_VALUES: Final = "exception values"
EXCEPTION_VALUE: Final = "exception value"
RULES_CONTENT: Final = "rules content"
RULES_CONTENT_ITEM: Final = "rules content item"
REQUIRED_ENGINE_VERSION: Final = "required_engine_version"
REQUIRED_PLUGIN_VERSIONS: Final = "required plugin versions"
REQUIRED_PLUGIN_VERSIONS_ENTRY: Final = "required plugin versions entry"
REQUIRED_PLUGIN_VERSIONS_ALTERNATIVE: Final = "required plugin versions alternative"
LIST: Final = "list"
LIST_ITEM: Final = "list item"
MACRO: Final = "macro"
MACRO_CONDITION: Final = "macro condition"
RULE: Final = "rule"
RULE_CONDITION: Final = "rule condition"
CONDITION_EXPRESSION: Final = "condition expression"
RULE_OUTPUT: Final = "rule output"
RULE_OUTPUT_EXPRESSION: Final = "rule output expression"
RULE_PRIORITY: Final = "rule priority"
OVERRIDE: Final = "overrides"

# The item types that name a thing of the rules file (as opposed to a part of one); a
# diagnostic's ``item_kind``/``item_name`` is the innermost of these.
NAMED_ITEM_TYPES: Final[frozenset[str]] = frozenset({
    RULES_CONTENT, RULES_CONTENT_ITEM, REQUIRED_ENGINE_VERSION, REQUIRED_PLUGIN_VERSIONS,
    REQUIRED_PLUGIN_VERSIONS_ENTRY, REQUIRED_PLUGIN_VERSIONS_ALTERNATIVE, LIST, MACRO, RULE,
    EXCEPTION,
})

# Fixed messages (rule_loading_messages.h and inline texts) -------------------------------

WARNING_APPEND: Final = (
    "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under "
    "'override' instead."
)
WARNING_ENABLED: Final = (
    "The standalone 'enabled' key usage is deprecated. The correct approach requires also a "
    "'replace' entry under the 'override' key (i.e. 'enabled: replace')."
)
ERROR_OVERRIDE_APPEND: Final = (
    "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry "
    "(e.g. 'condition: append') under 'override' instead."
)
ERROR_NO_PREVIOUS_MACRO: Final = (
    "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists"
)
ERROR_NO_PREVIOUS_LIST: Final = (
    "List uses 'append' or 'override.items: append' but no list by that name already exists"
)
ERROR_NO_PREVIOUS_RULE_APPEND: Final = (
    "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists"
)
ERROR_NO_PREVIOUS_RULE_REPLACE: Final = (
    "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists"
)
RGX_IDENTIFIER: Final = "([a-zA-Z]+[a-zA-Z0-9_]*)"
RGX_BARESTR: Final = "([^()\"'[:space:]=,]+)"
WARNING_INVALID_MACRO_NAME: Final = (
    "Macro has an invalid name. Macro names should match a regular expression: " + RGX_IDENTIFIER
)
WARNING_INVALID_LIST_NAME: Final = (
    "List has an invalid name. List names should match a regular expression: " + RGX_BARESTR
)
WARNING_NO_EVTTYPE: Final = (
    "Rule matches too many evt.type values. This has a significant performance penalty."
)
WARNING_CONTAINER_INFO: Final = (
    "%container.info is deprecated and no more useful, and will be dropped by Falco 1.0.0. "
    "The container plugin will automatically add required fields to the output message."
)
WARNING_UNUSED_MACRO: Final = "Macro not referred to by any other rule/macro"
WARNING_UNUSED_LIST: Final = "List not referred to by any other rule/macro"

# Deprecated fields and what Falco says about each in a condition.
_LATENCY_DESC = "field is not available due to the drop of enter events."
DEPRECATED_FIELDS: Final[dict[str, str]] = {
    "evt.dir": (
        "due to the drop of enter events, 'evt.dir = <' always evaluates to true, and "
        "'evt.dir = >' always evaluates to false. The rule expression can be simplified by "
        "removing the condition on 'evt.dir'"
    ),
    "evt.latency": _LATENCY_DESC,
    "evt.latency.s": _LATENCY_DESC,
    "evt.latency.ns": _LATENCY_DESC,
    "evt.latency.human": _LATENCY_DESC,
    "evt.wait_latency": _LATENCY_DESC,
}
