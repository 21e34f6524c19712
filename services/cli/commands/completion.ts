import type { Command } from 'commander';
import { usage } from '../cli-error.js';
import { loadEveryCommand } from '../command-table.js';

/** Every command path and its options, read off the program itself so completion never drifts. */
function tree(cmd: Command, prefix = ''): { path: string; words: string[] }[] {
  const subs = cmd.commands.filter((c) => c.name() !== 'help');
  const words = [...subs.map((c) => c.name()), ...cmd.options.map((o) => o.long ?? '').filter(Boolean)];
  return [{ path: prefix, words }, ...subs.flatMap((c) => tree(c, prefix ? `${prefix} ${c.name()}` : c.name()))];
}

export function completionCommand(cmd: Command): void {
  const program = cmd.parent!;
  cmd
    .addHelpText('after', '\nInstall:\n  ferry completion bash > /etc/bash_completion.d/ferry\n  echo \'source <(ferry completion zsh)\' >> ~/.zshrc')
    .action(async (shell: string | undefined) => {
      await loadEveryCommand(program);
      const which = shell ?? 'bash';
      if (which !== 'bash' && which !== 'zsh') throw usage('completion supports bash and zsh');
      const cases = tree(program)
        .map(({ path, words }) => `    "${path}") words="${[...words, '--json', '--url', '--help'].join(' ')}" ;;`)
        .join('\n');
      const script = `# ferry ${which} completion
_ferry_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    case "\${path:+$path }$w" in
${tree(program).map(({ path }) => `      "${path}") path="${path}" ;;`).join('\n')}
    esac
  done
  local words
  case "$path" in
${cases}
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
${which === 'zsh' ? 'autoload -U +X bashcompinit && bashcompinit\n' : ''}complete -F _ferry_complete ferry
`;
      process.stdout.write(script);
    });
}
