import sys

from encephagen.cli import main

sys.exit(main())
