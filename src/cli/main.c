/* main.c: `tactus <command> [options]`: global options, dispatch through the command table, help. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void print_help(FILE *out)
{
    fprintf(out, "usage: tactus [--version] [--help] <command> [options]\n\n"
                 "Scores, tokens and transformers for symbolic music.\n\ncommands:\n");
    for (const tx_command *c = tx_commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\n'tactus help COMMAND' or 'tactus COMMAND --help' shows a command's options.\n"
                 "Exit status: 0 success, 1 some input failed, 2 usage error.\n");
}

int cmd_help(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        cli_usage(stdout, "help", "  -h, --help   show this help\n");
        return cli_flush_stdout();
    }
    if (argc < 2) {
        print_help(stdout);
        return cli_flush_stdout();
    }
    if (argc > 2)
        return cli_usage_error("help", "help takes at most one command");
    const tx_command *c = cli_find_command(argv[1]);
    if (!c)
        return cli_usage_error("help", "'%s' is not a tactus command", argv[1]);
    /* Each command prints its own full usage for --help. */
    char *args[] = {argv[1], "--help", NULL};
    optind = 0;
    return c->run(2, args);
}

int main(int argc, char **argv)
{
    /* A closed pipe (tactus info ... | head) is reported through the failed write, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        print_help(stdout);
        return cli_flush_stdout();
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("tactus %s\n", tx_version());
        return cli_flush_stdout();
    }
    const tx_command *c = cli_find_command(cmd);
    if (!c) {
        cli_error("'%s' is not a tactus command; see 'tactus --help'", cmd);
        return EXIT_USAGE;
    }
    optind = 0;   /* commands parse their own options with getopt_long, from argv[1] on */
    return c->run(argc - 1, argv + 1);
}
