from tumble.cli import main

raise SystemExit(main())
