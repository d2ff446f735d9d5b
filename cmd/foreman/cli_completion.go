package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// CompletionCommand prints a shell completion script: commands, log and
// webhooks subcommands, and each command's flags. The flags are read from
// the commands' own -h output, so the script cannot fall behind them.
type CompletionCommand struct{ m *Main }

// completionTree is what a completion needs: the top-level commands, and
// for each command (or "log dump", "webhooks replay") its words.
type completionTree struct {
	top  []string
	subs map[string][]string // command → subcommands
	flag map[string][]string // command path → flags
}

// completionLeaves are the commands without subcommands (completion's
// argument aside); their flags are completed.
func completionLeaves() []string {
	return []string{"serve", "route", "submit", "jobs", "job", "watch", "cancel", "retry", "ps", "backup", "healthcheck", "version", "completion"}
}

// Run prints the script for bash or zsh.
func (c *CompletionCommand) Run(ctx context.Context, args []string) error {
	if len(args) != 1 || (args[0] != "bash" && args[0] != "zsh") {
		fmt.Fprintln(c.m.Stderr, "Usage: foreman completion bash|zsh\n\n"+
			"Prints a completion script. bash: source <(foreman completion bash)\n"+
			"zsh: source <(foreman completion zsh), or save it as _foreman in your $fpath.")
		return &usageError{"completion takes one shell: bash or zsh"}
	}
	t := c.tree(ctx)
	script := bashCompletion(t)
	if args[0] == "zsh" {
		// zsh runs bash completions through bashcompinit, which ships with it.
		script = "#compdef foreman\nautoload -U +X bashcompinit && bashcompinit\n" + script
	}
	_, err := fmt.Fprint(c.m.Stdout, script)
	return err
}

// tree asks every command for its flags.
func (c *CompletionCommand) tree(ctx context.Context) completionTree {
	t := completionTree{
		subs: map[string][]string{"log": {"dump", "job", "batch", "stats", "verify", "export"}, "webhooks": {"replay"}, "fleet": {"log"}, "completion": {"bash", "zsh"},
			"batch": {"create", "ls", "get", "cancel", "wait", "output"}},
		flag: map[string][]string{},
	}
	t.top = append(completionLeaves(), "log", "webhooks", "fleet", "batch", "help")
	slices.Sort(t.top)
	t.top = slices.Compact(t.top)
	paths := [][]string{}
	for _, cmd := range completionLeaves() {
		if cmd != "completion" && cmd != "version" {
			paths = append(paths, []string{cmd})
		}
	}
	for _, sub := range t.subs["log"] {
		paths = append(paths, []string{"log", sub})
	}
	paths = append(paths, []string{"webhooks", "replay"}, []string{"fleet", "log"})
	for _, sub := range t.subs["batch"] {
		paths = append(paths, []string{"batch", sub})
	}
	for _, p := range paths {
		t.flag[strings.Join(p, " ")] = c.flagsOf(ctx, p)
	}
	return t
}

var flagLine = regexp.MustCompile(`(?m)^\s+-(\w[\w-]*)`)

// flagsOf runs the command with -h and reads its flags off the usage.
func (c *CompletionCommand) flagsOf(ctx context.Context, path []string) []string {
	var buf bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &buf, Stderr: &buf, Getenv: func(string) string { return "" }}
	m.Run(ctx, append(append([]string{}, path...), "-h"))
	var flags []string
	for _, f := range flagLine.FindAllStringSubmatch(buf.String(), -1) {
		flags = append(flags, "--"+f[1])
	}
	return flags
}

// bashCompletion writes the script: the first word is a command; after
// "log" or "webhooks" a subcommand; after that the command's flags, and
// file names otherwise (complete -o default).
func bashCompletion(t completionTree) string {
	var b strings.Builder
	b.WriteString("# bash completion for foreman (foreman completion bash)\n_foreman() {\n")
	b.WriteString("  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} path words=\"\"\n")
	fmt.Fprintf(&b, "  if [[ $COMP_CWORD -eq 1 ]]; then\n    words=%q\n", strings.Join(t.top, " "))
	b.WriteString("  else\n    path=$cmd\n    case $cmd in\n")
	for _, cmd := range []string{"completion", "log", "webhooks", "fleet", "batch"} {
		fmt.Fprintf(&b, "      %s) if [[ $COMP_CWORD -eq 2 ]]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi; path=\"$cmd ${COMP_WORDS[2]}\";;\n",
			cmd, strings.Join(t.subs[cmd], " "))
	}
	b.WriteString("    esac\n    case $path in\n")
	keys := make([]string, 0, len(t.flag))
	for k := range t.flag {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "      %q) words=%q;;\n", k, strings.Join(t.flag[k], " "))
	}
	b.WriteString("    esac\n    [[ $cur == -* ]] || words=\"\"\n  fi\n")
	b.WriteString("  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\ncomplete -o default -F _foreman foreman\n")
	return b.String()
}
