import sys

from casesvc.cli import main

sys.exit(main())
