// libyaml's parser and document loader (Debian's libyaml-dev). Only Sources/HotStandbyConfig/YAMLDocument.swift
// uses it: the configuration is read with libyaml's loader into a small tree, so the daemon does not link
// Foundation (docs/performance.md, Footprint).
#ifndef HOTSTANDBY_CYAML_SHIM_H
#define HOTSTANDBY_CYAML_SHIM_H

#include <yaml.h>

#endif
