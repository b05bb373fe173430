"""``python -m rustgrad.demo [digits|seeds] [options]``: the digits training
demo (the default), or the tour of the autograd article's examples."""

import sys


def main(argv):
    if argv[:1] == ["seeds"]:
        from . import seeds

        seeds.main()
        return 0
    from . import digits

    return digits.main(argv[1:] if argv[:1] == ["digits"] else argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
