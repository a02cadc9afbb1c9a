/* main.c -- placeholder until the command table lands. */
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "holdfast: not built yet\n");
    return 1;
}
