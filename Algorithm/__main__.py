import sys

from Algorithm.cli.main import main

sys.exit(main())
