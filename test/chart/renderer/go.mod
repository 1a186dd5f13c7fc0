// Marks this folder as "module-aware" code, which is what lets a GOPATH-mode build
// (GO111MODULE=off) resolve the /v3 import paths through Go's minimal module compatibility:
// `github.com/Masterminds/sprig/v3` is found in Debian's GOPATH entry
// /usr/share/gocode/src/github.com/Masterminds/sprig, whose own go.mod says
// `module github.com/Masterminds/sprig/v3` (likewise semver/v3). The replace lines say the same
// thing for a module-mode reader; the build itself runs in GOPATH mode, offline.
module metrics-manager.local/chart-renderer

go 1.19

require (
	github.com/Masterminds/semver/v3 v3.2.0
	github.com/Masterminds/sprig/v3 v3.2.3
	github.com/ghodss/yaml v1.0.0
)

replace (
	github.com/Masterminds/semver/v3 => /usr/share/gocode/src/github.com/Masterminds/semver
	github.com/Masterminds/sprig/v3 => /usr/share/gocode/src/github.com/Masterminds/sprig
	github.com/ghodss/yaml => /usr/share/gocode/src/github.com/ghodss/yaml
)
